//! Phase timings of one long operation (a moves batch, a snapshot patch),
//! written to the debug log so an operator can see where the time went.

use std::fmt;
use std::time::Instant;

/// Milliseconds spent in each phase, in order.
pub struct Phases {
    last: Instant,
    done: Vec<(&'static str, f64)>,
}

impl Phases {
    /// Starts the first phase now.
    pub fn start() -> Phases {
        Phases { last: Instant::now(), done: Vec::new() }
    }

    /// Ends the current phase under `name` and starts the next.
    pub fn mark(&mut self, name: &'static str) {
        let now = Instant::now();
        self.done.push((name, (now - self.last).as_secs_f64() * 1000.0));
        self.last = now;
    }
}

impl fmt::Display for Phases {
    /// `validated 12 ms, committed 80 ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, ms)) in self.done.iter().enumerate() {
            write!(f, "{}{name} {ms:.0} ms", if i == 0 { "" } else { ", " })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Phases;

    #[test]
    fn phases_are_listed_in_order() {
        let mut p = Phases::start();
        p.mark("read");
        p.mark("written");
        let text = p.to_string();
        assert!(text.starts_with("read ") && text.contains(" ms, written ") && text.ends_with(" ms"), "{text}");
    }
}
