//! The shell's one reading of the wall clock. Cores never read a clock: the shell passes `now`
//! in, as unix time where the protocol's own times are unix time (discv4 expirations, ENR
//! sequence numbers, fork activation by timestamp) and as time since start elsewhere (the loop's
//! `Instant`).

/// The wall clock as an instant of its own type.
pub fn unix_now() -> crate::time::UnixMs {
    crate::time::UnixMs(unix_ms())
}

/// The wall clock in unix milliseconds (0 if the clock is before 1970).
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The wall clock in unix seconds.
pub fn unix_secs() -> u64 {
    unix_ms() / 1000
}
