//! The node's two clocks as types, so that the compiler keeps them apart: [`Mono`], the
//! monotonic clock every timer of dialing, admission and the eth protocol runs on (milliseconds
//! since the node started), and [`UnixMs`], the wall clock of what other nodes see (discv4
//! expirations, node-database timestamps, record sequence numbers). A span of time is a plain
//! [`Millis`]. Cores never read a clock: the shell's `server::clock` is the one function that
//! reads the wall clock, and the event loop counts `Mono` from its own start.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A span of time in milliseconds: timeouts, intervals, backoffs.
pub type Millis = u64;

/// An instant on the node's monotonic clock: milliseconds since the node started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Mono(pub u64);

/// An instant on the wall clock: milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixMs(pub u64);

macro_rules! instant {
    ($t:ident) => {
        impl $t {
            /// The span from `earlier` to this instant (0 if `earlier` is later).
            pub fn since(self, earlier: $t) -> Millis {
                self.0.saturating_sub(earlier.0)
            }

            /// This instant plus `span`, saturating (the same as `+`).
            pub fn saturating_add(self, span: Millis) -> $t {
                self + span
            }
        }

        /// An instant plus a span (saturating).
        impl Add<Millis> for $t {
            type Output = $t;
            fn add(self, span: Millis) -> $t {
                $t(self.0.saturating_add(span))
            }
        }

        impl AddAssign<Millis> for $t {
            fn add_assign(&mut self, span: Millis) {
                self.0 = self.0.saturating_add(span);
            }
        }

        /// An instant minus a span (saturating at the clock's zero).
        impl Sub<Millis> for $t {
            type Output = $t;
            fn sub(self, span: Millis) -> $t {
                $t(self.0.saturating_sub(span))
            }
        }

        /// The span between two instants of the same clock (saturating at 0).
        impl Sub for $t {
            type Output = Millis;
            fn sub(self, earlier: $t) -> Millis {
                self.since(earlier)
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

instant!(Mono);
instant!(UnixMs);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_move_by_spans_and_saturate() {
        let t = Mono(1_000);
        assert_eq!(t + 500, Mono(1_500));
        assert_eq!(t - 400, Mono(600));
        assert_eq!(t - 5_000, Mono(0));
        assert_eq!(Mono(1_500) - t, 500);
        assert_eq!(
            t - Mono(1_500),
            0,
            "an earlier minus a later instant is no span"
        );
        let mut u = UnixMs(u64::MAX - 1);
        u += 10;
        assert_eq!(u, UnixMs(u64::MAX));
        assert_eq!(UnixMs(3).since(UnixMs(1)), 2);
    }
}
