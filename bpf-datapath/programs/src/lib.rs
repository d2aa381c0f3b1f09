//! ferrule's eBPF programs as ELF bytes, compiled from `bpf-datapath/bpf/*.bpf.c` by build.rs.
//!
//! The loader passes these to `aya::Ebpf::load`. Program and map names inside each object are
//! those of the C source; map layouts are described by `ferrule-bpf-common`.

include!(concat!(env!("OUT_DIR"), "/programs.rs"));

/// Name of the XDP program in [`L2_RESPONDER`].
pub const L2_RESPONDER_PROGRAM: &str = "l2_responder_xdp";

/// Name of the tc (`classifier`) program in [`LB`].
pub const LB_PROGRAM: &str = "lb_ingress";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_object_is_a_bpf_elf() {
        assert!(!ALL.is_empty(), "build.rs embedded at least one program");
        for (name, bytes) in ALL {
            assert_eq!(&bytes[..4], b"\x7fELF", "{name} is an ELF object");
            // e_machine at offset 18, little-endian on the hosts we build for: EM_BPF = 247.
            assert_eq!(
                u16::from_le_bytes([bytes[18], bytes[19]]),
                247,
                "{name} targets BPF"
            );
        }
    }

    #[test]
    fn every_program_is_embedded_and_aligned() {
        assert!(ALL.iter().any(|(n, _)| *n == "l2_responder"));
        assert!(ALL.iter().any(|(n, _)| *n == "lb"));
        for (name, bytes) in ALL {
            assert_eq!(bytes.as_ptr() as usize % 8, 0, "{name} is 8-byte aligned");
        }
    }
}
