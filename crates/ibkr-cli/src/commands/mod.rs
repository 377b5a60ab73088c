pub mod auth;
pub mod demo;
pub mod login;
pub mod sim;
