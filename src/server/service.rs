//! Services: the parts of a node that bring protocols (go-ethereum `node.Lifecycle` and the
//! `Protocols()` a service registers).
//!
//! The node gathers every service's capabilities for its Hello, starts the services in order,
//! and if one fails to start, stops the ones already started, in reverse order, before it reports
//! the failure. On shutdown they stop in reverse order too.

use crate::p2p::LocalCapability;
use crate::server::protocol::Protocol;

/// A part of the node with a lifecycle and, usually, a capability protocol.
pub trait Service {
    /// A short name for logs and errors.
    fn name(&self) -> &str;
    /// The capabilities this service runs, with the length of each one's message-id space.
    fn protocols(&self) -> Vec<LocalCapability>;
    /// Starts the service (open storage, spawn its thread). An error stops node start-up.
    fn start(&mut self) -> Result<(), String>;
    /// Stops the service; called once, only after a successful start.
    fn stop(&mut self);
    /// The loop halves of this service's capabilities, taken once after a successful start
    /// (go-ethereum: the `p2p.Protocol`s a service returns). Services without one keep the
    /// default.
    fn take_protocols(&mut self) -> Vec<Box<dyn Protocol>> {
        Vec::new()
    }
}

/// The node's services, in start order, and how many of them are running.
pub struct Services {
    list: Vec<Box<dyn Service>>,
    /// `list[..started]` are running; the invariant start/stop keep.
    started: usize,
}

impl Services {
    /// Services in the order they will start.
    pub fn new(list: Vec<Box<dyn Service>>) -> Services {
        Services { list, started: 0 }
    }

    /// Every capability of every service, for Hello.
    pub fn protocols(&self) -> Vec<LocalCapability> {
        self.list.iter().flat_map(|s| s.protocols()).collect()
    }

    /// Starts all services in order; on a failure, stops the started ones and returns the error.
    pub fn start_all(&mut self) -> Result<(), String> {
        while self.started < self.list.len() {
            let s = &mut self.list[self.started];
            if let Err(e) = s.start() {
                let e = format!("{}: {e}", s.name());
                self.stop_all();
                return Err(e);
            }
            self.started += 1;
        }
        Ok(())
    }

    /// The loop halves of every started service's capabilities, in start order.
    pub fn take_protocols(&mut self) -> Vec<Box<dyn Protocol>> {
        self.list[..self.started]
            .iter_mut()
            .flat_map(|s| s.take_protocols())
            .collect()
    }

    /// Stops running services in reverse start order.
    pub fn stop_all(&mut self) {
        while self.started > 0 {
            self.started -= 1;
            self.list[self.started].stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::p2p::Capability;
    use std::cell::RefCell;
    use std::rc::Rc;

    struct Fake {
        name: &'static str,
        fail: bool,
        log: Rc<RefCell<Vec<String>>>,
    }

    impl Service for Fake {
        fn name(&self) -> &str {
            self.name
        }
        fn protocols(&self) -> Vec<LocalCapability> {
            vec![LocalCapability::new(Capability::new(self.name, 1), 4)]
        }
        fn start(&mut self) -> Result<(), String> {
            self.log.borrow_mut().push(format!("start {}", self.name));
            if self.fail {
                Err("boom".into())
            } else {
                Ok(())
            }
        }
        fn stop(&mut self) {
            self.log.borrow_mut().push(format!("stop {}", self.name));
        }
    }

    fn services(fail_at: Option<usize>, log: &Rc<RefCell<Vec<String>>>) -> Services {
        let names = ["a", "b", "c"];
        Services::new(
            names
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    Box::new(Fake {
                        name: n,
                        fail: fail_at == Some(i),
                        log: log.clone(),
                    }) as Box<dyn Service>
                })
                .collect(),
        )
    }

    #[test]
    fn a_failed_start_stops_the_started_ones_in_reverse() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut s = services(Some(2), &log);
        assert_eq!(s.start_all(), Err("c: boom".to_string()));
        assert_eq!(
            *log.borrow(),
            ["start a", "start b", "start c", "stop b", "stop a"]
        );
        s.stop_all();
        assert_eq!(log.borrow().len(), 5, "nothing is stopped twice");
    }

    #[test]
    fn protocols_are_gathered_in_order_and_stop_is_reversed() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut s = services(None, &log);
        let names: Vec<_> = s
            .protocols()
            .into_iter()
            .map(|c| c.capability.name)
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        s.start_all().unwrap();
        s.stop_all();
        assert_eq!(
            *log.borrow(),
            [
                "start a", "start b", "start c", "stop c", "stop b", "stop a"
            ]
        );
    }
}
