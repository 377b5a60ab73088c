pub mod auth;
pub mod bench;
pub mod demo;
pub mod login;
pub mod market;
pub mod portfolio;
pub mod sim;
