//! Attaching the programs to interfaces through pinned bpf_links.
//!
//! XDP (l2_responder) and tcx ingress (lb, kernel 6.6+) attach as bpf_links, which the kernel
//! keeps for as long as a pin references them, so the programs stay attached after the agent
//! exits. On the next start the pinned link is *updated* to the newly loaded program
//! (`bpf_link_update`, atomic: each packet sees either the old or the new program, never
//! none), so a restart or upgrade has no gap. Detaching is removing the pin.

use std::path::PathBuf;

use aya::programs::links::{FdLink, PinnedLink};
use aya::programs::tc::{self, TcAttachType, TcError};
use aya::programs::xdp::XdpLink;
use aya::programs::{ProgramError, SchedClassifier, Xdp, XdpMode};
use ferrule_bpf_programs::{L2_RESPONDER_PROGRAM, LB_PROGRAM};

use crate::datapath::{Datapath, PinLayout};
use crate::error::LoadError;
use crate::netif::Interface;

/// How a program ended up attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attachment {
    /// A pinned link existed and now runs the newly loaded program.
    Replaced,
    /// Attached for the first time; `xdp_mode` says which XDP mode the device accepted
    /// (`None` for the tc program).
    New { xdp_mode: Option<XdpModeUsed> },
}

/// The XDP mode a device accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XdpModeUsed {
    /// Native (driver) XDP: the fast path, veth and most NIC drivers support it.
    Driver,
    /// Generic XDP in the stack, for devices without native support.
    Skb,
}

/// What [`Datapath::attach`] did on one interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attached {
    pub xdp: Attachment,
    pub tc: Attachment,
}

const XDP_LINK: &str = "xdp";
const TC_LINK: &str = "tc-ingress";

impl PinLayout {
    /// Pin path of a program's link on an interface.
    pub fn link(&self, kind: &str, interface: &str) -> PathBuf {
        self.links_dir().join(format!("{kind}-{interface}"))
    }
}

fn attach_err(program: &'static str, interface: &str) -> impl Fn(String) -> LoadError {
    let interface = interface.to_owned();
    move |reason| LoadError::Attach {
        program,
        interface: interface.clone(),
        reason,
    }
}

/// Opens a pinned link; `None` when there is none. A pin whose link went defunct (its device
/// was deleted and recreated) is removed so a fresh attach can take its place.
fn open_link(path: &std::path::Path) -> Option<FdLink> {
    if !path.exists() {
        return None;
    }
    match PinnedLink::from_pin(path) {
        Ok(p) => Some(FdLink::from(p)),
        Err(_) => {
            let _ = std::fs::remove_file(path);
            None
        }
    }
}

/// A pinned link that cannot be updated is defunct: its device was deleted (and maybe
/// recreated under the same name, with a new ifindex). Its pin goes so a fresh attach can
/// take the name; there is no running attachment to lose.
fn remove_stale_pin(path: &std::path::Path) -> Result<(), String> {
    std::fs::remove_file(path)
        .map_err(|e| format!("removing the stale link pin {}: {e}", path.display()))
}

fn pin(link: FdLink, path: &std::path::Path) -> Result<(), String> {
    link.pin(path).map(drop).map_err(|e| e.to_string())
}

impl Datapath {
    fn xdp(&mut self) -> Result<&mut Xdp, ProgramError> {
        self.l2
            .program_mut(L2_RESPONDER_PROGRAM)
            .ok_or(ProgramError::NotLoaded)?
            .try_into()
    }

    fn tc(&mut self) -> Result<&mut SchedClassifier, ProgramError> {
        self.lb
            .program_mut(LB_PROGRAM)
            .ok_or(ProgramError::NotLoaded)?
            .try_into()
    }

    /// Attaches l2_responder (XDP) and lb (tc ingress) to `interface`, replacing whatever
    /// program the pinned links ran before. Idempotent.
    pub fn attach(&mut self, interface: &Interface) -> Result<Attached, LoadError> {
        let xdp = self.attach_xdp(&interface.name, interface.prefers_native_xdp())?;
        let tc = self.attach_tc(&interface.name)?;
        Ok(Attached { xdp, tc })
    }

    fn attach_xdp(&mut self, interface: &str, native: bool) -> Result<Attachment, LoadError> {
        let err = attach_err("l2_responder", interface);
        let path = self.pins.link(XDP_LINK, interface);
        let prog = self.xdp().map_err(|e| err(e.to_string()))?;
        if let Some(link) = open_link(&path) {
            let link = XdpLink::try_from(link).map_err(|e| err(e.to_string()))?;
            // The link stays pinned; the id is only the program's handle on our fd of it.
            if prog.attach_to_link(link).is_ok() {
                return Ok(Attachment::Replaced);
            }
            remove_stale_pin(&path).map_err(&err)?;
        }
        // Driver mode first where it can work (the fast path); a device without native XDP
        // rejects it and gets generic mode, as does veth (see `prefers_native_xdp`).
        let native = native.then(|| prog.attach(interface, XdpMode::Driver));
        let (id, mode) = match native {
            Some(Ok(id)) => (id, XdpModeUsed::Driver),
            tried => {
                let driver = match tried {
                    Some(Err(e)) => format!("driver mode: {e}; "),
                    _ => String::new(),
                };
                prog.attach(interface, XdpMode::Skb)
                    .map(|id| (id, XdpModeUsed::Skb))
                    .map_err(|skb| err(format!("{driver}skb mode: {skb}")))?
            }
        };
        let link = prog.take_link(id).map_err(|e| err(e.to_string()))?;
        let link = FdLink::try_from(link)
            .map_err(|e| err(format!("kernel attached XDP without a bpf_link: {e}")))?;
        pin(link, &path).map_err(&err)?;
        Ok(Attachment::New {
            xdp_mode: Some(mode),
        })
    }

    fn attach_tc(&mut self, interface: &str) -> Result<Attachment, LoadError> {
        let err = attach_err("lb", interface);
        let path = self.pins.link(TC_LINK, interface);
        // tcx links need no qdisc, but the clsact qdisc keeps `tc filter` tooling and
        // pre-6.6 kernels working, and an existing one is fine.
        match tc::qdisc_add_clsact(interface) {
            Ok(()) | Err(TcError::AlreadyAttached) => {}
            Err(TcError::NetlinkError(e)) if e.raw_os_error() == Some(libc_eexist()) => {}
            Err(e) => return Err(err(format!("adding the clsact qdisc: {e}"))),
        }
        let prog = self.tc().map_err(|e| err(e.to_string()))?;
        if let Some(link) = open_link(&path) {
            let link = aya::programs::tc::SchedClassifierLink::try_from(link)
                .map_err(|e| err(e.to_string()))?;
            if prog.attach_to_link(link).is_ok() {
                return Ok(Attachment::Replaced);
            }
            remove_stale_pin(&path).map_err(&err)?;
        }
        let id = prog
            .attach(interface, TcAttachType::Ingress)
            .map_err(|e| err(e.to_string()))?;
        let link = prog.take_link(id).map_err(|e| err(e.to_string()))?;
        let link = FdLink::try_from(link).map_err(|e| {
            err(format!(
                "the kernel attached tc through netlink, not tcx (needs Linux 6.6+), so the \
                 attachment cannot outlive the agent: {e}"
            ))
        })?;
        pin(link, &path).map_err(&err)?;
        Ok(Attachment::New { xdp_mode: None })
    }
}

/// EEXIST: the clsact qdisc is already there (no libc dependency for one constant).
const fn libc_eexist() -> i32 {
    17
}

/// Detaches both programs from `interface` by removing their link pins: the kernel drops a
/// link when its last reference goes. Missing pins are not an error (already detached).
pub fn detach(pins: &PinLayout, interface: &str) -> Result<(), LoadError> {
    for (kind, program) in [(XDP_LINK, "l2_responder"), (TC_LINK, "lb")] {
        let path = pins.link(kind, interface);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(attach_err(program, interface)(format!(
                    "removing {}: {e}",
                    path.display()
                )));
            }
        }
    }
    Ok(())
}
