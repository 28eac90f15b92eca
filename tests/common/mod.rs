//! Shared test helpers: real-OTP harness ([`otp`]) and proptest strategies
//! ([`strategies`]).
#![allow(dead_code, unused_imports)]

pub mod otp;
pub mod strategies;

pub use otp::*;
pub use strategies::*;
