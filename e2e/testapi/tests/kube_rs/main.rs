//! kube-rs against ferrule-testapi: what a controller does through `kube::Api` and
//! `kube::runtime` must behave as it does against a real kube-apiserver.

#[path = "../support/mod.rs"]
mod support;

mod apply;
mod controller;
mod crd;
mod crud;
mod events;
mod gc;
mod list;
mod watch;
