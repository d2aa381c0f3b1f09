//! A network namespace with routes the test controls, and re-running one test of this binary
//! inside it: BPF_PROG_TEST_RUN works in the caller's namespace, so a FIB lookup made by the
//! program sees that namespace's devices, routes and forwarding sysctls, not the host's.

use std::process::Command;

/// The scenario a child run executes; read by the test named [`Netns::run_child`]'s `test`.
pub const SCENARIO_ENV: &str = "FERRULE_PROG_TEST_SCENARIO";

/// A namespace named after the process id and a tag (parallel tests and runs never collide),
/// deleted on drop, also when the test panics.
pub struct Netns(String);

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("command runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Netns {
    pub fn new(tag: &str) -> Self {
        let name = format!("ferrule-prog-{tag}-{}", std::process::id());
        // A leftover of a crashed run with the same pid would make `add` fail.
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        run(Command::new("ip").args(["netns", "add", &name]));
        Self(name)
    }

    /// `ip <args>` inside the namespace.
    pub fn ip(&self, args: &[&str]) -> &Self {
        run(Command::new("ip").arg("-n").arg(&self.0).args(args));
        self
    }

    pub fn sysctl(&self, setting: &str) -> &Self {
        run(Command::new("ip").args(["netns", "exec", &self.0, "sysctl", "-qw", setting]));
        self
    }

    /// Runs the ignored test `test` of this binary inside the namespace with `scenario` in
    /// [`SCENARIO_ENV`], and fails with its output unless it passes.
    pub fn run_child(&self, test: &str, scenario: &str) {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.0])
            .arg(std::env::current_exe().expect("test binary path"))
            .args([
                "--exact",
                test,
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(SCENARIO_ENV, scenario)
            .output()
            .expect("child test runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        // A misspelt test name would "pass" by running nothing.
        assert!(
            out.status.success() && stdout.contains("test result: ok. 1 passed"),
            "scenario {scenario} failed in {}:\n{stdout}\n{}",
            self.0,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

/// The index of interface `name` in the current namespace (`ip netns exec` mounts its /sys).
pub fn ifindex(name: &str) -> u32 {
    std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex"))
        .unwrap_or_else(|e| panic!("interface {name} exists: {e}"))
        .trim()
        .parse()
        .expect("ifindex is a number")
}
