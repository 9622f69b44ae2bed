//! A synthetic demo city: a complete, plausible set of import files laid on
//! the real Jinan district boundaries.

#![allow(dead_code)] // the generator that uses these helpers follows

mod calendar;
mod rng;
