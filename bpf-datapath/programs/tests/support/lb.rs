//! Harness for lb.bpf.c: load the tc program, seed services and backends, run frames.

use aya::Ebpf;
use aya::maps::{Array, HashMap, MapData, PerCpuArray};
use aya::programs::{SchedClassifier, TestRun, TestRunOptions};
use ferrule_bpf_common::{
    FerruleCounters, LB_NODE_ADDR_V4, LB_NODE_ADDR_V6, LbBackend, LbCtKey, LbCtValue,
    LbFrontendKey, LbMaglevRow, LbNodeAddr, LbService, Program, map_names,
};

use super::ip::Ip;
use super::{Outcome, require_root};

pub const TC_ACT_OK: u32 = 0;
pub const TC_ACT_SHOT: u32 = 2;
/// What `bpf_redirect_neigh` returns; the test run reports it without redirecting.
pub const TC_ACT_REDIRECT: u32 = 7;

/// The verdict on an original-direction SNATed packet the FIB lookup cannot forward, which is
/// every one in a run without an ingress device ([`Lb::run`]): IPv4 is dropped
/// (FERRULE_DROP_NO_ROUTE), IPv6 passed to the stack.
pub fn unforwarded_snat_verdict(ip: Ip) -> u32 {
    match ip {
        Ip::V4(_) => TC_ACT_SHOT,
        Ip::V6(_) => TC_ACT_OK,
    }
}

/// `struct __sk_buff`: its size and the two fields a test run context may set here.
const SK_BUFF_SIZE: usize = 192;
const SK_BUFF_INGRESS_IFINDEX: usize = 36;
const SK_BUFF_IFINDEX: usize = 40;

pub struct Lb {
    ebpf: Ebpf,
    pub frontends: HashMap<MapData, LbFrontendKey, LbService>,
    pub backends: HashMap<MapData, u32, LbBackend>,
    pub maglev: HashMap<MapData, u32, LbMaglevRow>,
    pub conntrack: HashMap<MapData, LbCtKey, LbCtValue>,
    pub service_counters: PerCpuArray<MapData, FerruleCounters>,
    pub prog_counters: PerCpuArray<MapData, FerruleCounters>,
    pub node_addrs: Array<MapData, LbNodeAddr>,
}

impl Lb {
    pub fn load() -> Self {
        require_root();
        let mut ebpf = Ebpf::load(ferrule_bpf_programs::LB).expect("object parses");
        let prog: &mut SchedClassifier = ebpf
            .program_mut(ferrule_bpf_programs::LB_PROGRAM)
            .expect("program present")
            .try_into()
            .expect("program is a classifier");
        prog.load().expect("verifier accepts lb");
        let mut take = |name: &str| ebpf.take_map(name).unwrap_or_else(|| panic!("map {name}"));
        let frontends = HashMap::try_from(take(map_names::LB_FRONTENDS)).expect("frontends ABI");
        let backends = HashMap::try_from(take(map_names::LB_BACKENDS)).expect("backends ABI");
        let maglev = HashMap::try_from(take(map_names::LB_MAGLEV)).expect("maglev ABI");
        let conntrack = HashMap::try_from(take(map_names::LB_CONNTRACK)).expect("conntrack ABI");
        let service_counters =
            PerCpuArray::try_from(take(map_names::LB_SERVICE_COUNTERS)).expect("counters ABI");
        let prog_counters =
            PerCpuArray::try_from(take(map_names::PROG_COUNTERS)).expect("counters ABI");
        let node_addrs = Array::try_from(take(map_names::LB_NODE_ADDRS)).expect("node ABI");
        Self {
            node_addrs,
            ebpf,
            frontends,
            backends,
            maglev,
            conntrack,
            service_counters,
            prog_counters,
        }
    }

    pub fn add_backend(&mut self, id: u32, ip: Ip, port: u16, flags: u8) {
        let backend = LbBackend {
            ip: ip.abi(),
            port: port.to_be(),
            family: ip.family(),
            flags,
        };
        self.backends
            .insert(id, backend, 0)
            .expect("backend inserted");
    }

    /// Fills the service's Maglev row by cycling through `backend_ids`. The agent computes
    /// the real permutation-based table; for the datapath any full row is valid content.
    pub fn set_maglev_row(&mut self, service_id: u32, backend_ids: &[u32]) {
        let mut row = LbMaglevRow::default();
        for (slot, id) in row.backends.iter_mut().enumerate() {
            if !backend_ids.is_empty() {
                *id = backend_ids[slot % backend_ids.len()];
            }
        }
        self.maglev
            .insert(service_id, row, 0)
            .expect("maglev row set");
    }

    /// The node IP of `ip`'s family, used for SNAT.
    pub fn set_node_addr(&mut self, ip: Ip) {
        let index = match ip {
            Ip::V4(_) => LB_NODE_ADDR_V4,
            Ip::V6(_) => LB_NODE_ADDR_V6,
        };
        self.node_addrs
            .set(index, LbNodeAddr { ip: ip.abi() }, 0)
            .expect("node address set");
    }

    pub fn add_frontend(&mut self, vip: Ip, port: u16, proto: u8, service: LbService) {
        let key = LbFrontendKey {
            ip: vip.abi(),
            port: port.to_be(),
            proto,
            family: vip.family(),
        };
        self.frontends
            .insert(key, service, 0)
            .expect("frontend inserted");
    }

    pub fn service_counters(&self, service_id: u32) -> FerruleCounters {
        FerruleCounters::sum(
            self.service_counters
                .get(&service_id, 0)
                .expect("service counters readable")
                .iter(),
        )
    }

    pub fn program_counters(&self) -> FerruleCounters {
        FerruleCounters::sum(
            self.prog_counters
                .get(&(Program::Lb as u32), 0)
                .expect("program counters readable")
                .iter(),
        )
    }

    pub fn run(&self, frame: &[u8]) -> Outcome {
        self.run_with(frame, None)
    }

    /// Runs `frame` as if it arrived on interface `ifindex` of the current namespace (a
    /// `__sk_buff` context naming it as both device and ingress device). Without one the
    /// program sees ingress_ifindex 0, on which every FIB lookup fails.
    pub fn run_from(&self, frame: &[u8], ifindex: u32) -> Outcome {
        let mut ctx = [0u8; SK_BUFF_SIZE];
        ctx[SK_BUFF_INGRESS_IFINDEX..SK_BUFF_INGRESS_IFINDEX + 4]
            .copy_from_slice(&ifindex.to_ne_bytes());
        ctx[SK_BUFF_IFINDEX..SK_BUFF_IFINDEX + 4].copy_from_slice(&ifindex.to_ne_bytes());
        self.run_with(frame, Some(&ctx))
    }

    fn run_with(&self, frame: &[u8], ctx: Option<&[u8]>) -> Outcome {
        let prog: &SchedClassifier = self
            .ebpf
            .program(ferrule_bpf_programs::LB_PROGRAM)
            .expect("program present")
            .try_into()
            .expect("program is a classifier");
        let mut out = vec![0u8; 512];
        let result = prog
            .test_run(TestRunOptions {
                data_in: Some(frame),
                data_out: Some(&mut out),
                ctx_in: ctx,
                ..TestRunOptions::default()
            })
            .expect("BPF_PROG_TEST_RUN succeeds");
        out.truncate(result.data_size_out as usize);
        Outcome {
            verdict: result.return_value,
            frame: out,
        }
    }
}
