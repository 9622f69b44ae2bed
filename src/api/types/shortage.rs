//! Answers of the shortage routes.
