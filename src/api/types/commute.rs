//! Answers of the commute routes.
