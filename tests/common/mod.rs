//! Shared test helpers: real-OTP harness ([`otp`]) and proptest strategies
//! ([`strategies`]).
#![allow(dead_code, unused_imports)]

pub mod otp;
pub mod strategies;
pub mod tls;

pub use otp::*;
pub use strategies::*;
pub use tls::*;
