//! Node discovery v4 (devp2p discv4.md) as sans-IO state machines: the Kademlia node table
//! ([`table`]) and the iterative lookup ([`lookup`]).

pub mod lookup;
pub mod table;
