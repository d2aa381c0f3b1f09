//! The real kubectl 1.35 against ferrule-testapi: every command prints what it prints against a
//! real kube-apiserver (dynamic values normalised), so tests and the lab that drive kubectl
//! mean the same thing they would on a cluster. Each test starts its own HTTPS server.

#[path = "kubectl/harness.rs"]
mod harness;

use ferrule_testapi::Options;
use harness::{Cluster, lines, normalize, reference_dir};
use std::time::Duration;

const POOL_CRD: &str = "ciliumloadbalancerippools.yaml";
const PEER_CRD: &str = "ciliumbgppeerconfigs.yaml";

const POOL: &str = "
apiVersion: cilium.io/v2
kind: CiliumLoadBalancerIPPool
metadata:
  name: pool-a
spec:
  blocks:
  - cidr: 192.0.2.0/28
";

/// The Gateway API standard bundle: its CRDs, plus a ValidatingAdmissionPolicy and binding.
fn gateway_bundle() -> String {
    reference_dir()
        .join("gateway-api/standard-install.yaml")
        .to_str()
        .expect("UTF-8 path")
        .to_owned()
}

#[test]
fn upstream_crds_apply_establish_and_list() {
    let cluster = Cluster::start();
    let cilium = reference_dir().join("cilium-crds");
    let out = cluster.apply(&cilium);
    let cilium_crds = [
        "ciliumbgpadvertisements.cilium.io",
        "ciliumbgpclusterconfigs.cilium.io",
        "ciliumbgpnodeconfigoverrides.cilium.io",
        "ciliumbgpnodeconfigs.cilium.io",
        "ciliumbgppeerconfigs.cilium.io",
        "ciliumclusterwideenvoyconfigs.cilium.io",
        "ciliumegressgatewaypolicies.cilium.io",
        "ciliumenvoyconfigs.cilium.io",
        "ciliumgatewayclassconfigs.cilium.io",
        "ciliuml2announcementpolicies.cilium.io",
        "ciliumloadbalancerippools.cilium.io",
        "ciliumnodes.cilium.io",
        "ciliumpodippools.cilium.io",
    ];
    let expected: String = cilium_crds
        .iter()
        .map(|n| format!("customresourcedefinition.apiextensions.k8s.io/{n} serverside-applied\n"))
        .collect();
    assert_eq!(out, expected);

    let gateway = cluster.kubectl(&["apply", "--server-side", "-f", &gateway_bundle()]);
    let gateway_crds = [
        "backendtlspolicies",
        "gatewayclasses",
        "gateways",
        "grpcroutes",
        "httproutes",
        "listenersets",
        "referencegrants",
        "tcproutes",
        "tlsroutes",
        "udproutes",
    ]
    .map(|plural| format!("{plural}.gateway.networking.k8s.io"));
    let mut expected: String = gateway_crds
        .iter()
        .map(|n| format!("customresourcedefinition.apiextensions.k8s.io/{n} serverside-applied\n"))
        .collect();
    expected.push_str(&lines("
        validatingadmissionpolicy.admissionregistration.k8s.io/safe-upgrades.gateway.networking.k8s.io serverside-applied
        validatingadmissionpolicybinding.admissionregistration.k8s.io/safe-upgrades.gateway.networking.k8s.io serverside-applied
    "));
    assert_eq!(gateway.ok(), expected);
    // Not in a real cluster's output: the policy is stored but not enforced, and says so.
    assert_eq!(
        gateway.stderr,
        lines("
            Warning: ferrule-testapi stores ValidatingAdmissionPolicy objects but does not enforce them
            Warning: ferrule-testapi stores ValidatingAdmissionPolicyBinding objects but does not enforce them
        ")
    );

    let mut all: Vec<String> = cilium_crds.iter().map(|n| (*n).to_owned()).collect();
    all.extend(gateway_crds);
    all.sort();
    let mut wait = vec!["wait", "--for=condition=Established", "--timeout=10s"];
    let targets: Vec<String> = all.iter().map(|n| format!("crd/{n}")).collect();
    wait.extend(targets.iter().map(String::as_str));
    let expected: String = all
        .iter()
        .map(|n| format!("customresourcedefinition.apiextensions.k8s.io/{n} condition met\n"))
        .collect();
    assert_eq!(cluster.kubectl(&wait).ok(), expected);

    // The default table convertor: the creation time itself, not an age. kubectl pads the
    // NAME column to the longest name (backendtlspolicies.gateway.networking.k8s.io, 44) + 3.
    let mut expected = format!("{:<47}CREATED AT\n", "NAME");
    for name in &all {
        expected.push_str(&format!("{name:<47}<time>\n"));
    }
    assert_eq!(normalize(cluster.kubectl(&["get", "crd"]).ok()), expected);
}

#[test]
fn applied_objects_print_as_on_a_real_cluster() {
    let cluster = Cluster::start();
    cluster.install_cilium_crds(&[POOL_CRD, PEER_CRD]);
    cluster
        .kubectl(&["apply", "--server-side", "-f", &gateway_bundle()])
        .ok();
    cluster
        .kubectl(&[
            "wait",
            "--for=condition=Established",
            "crd/gatewayclasses.gateway.networking.k8s.io",
        ])
        .ok();
    let manifest = cluster.write(
        "objects.yaml",
        &format!(
            "{POOL}---{}",
            "
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata:
  name: peer
spec:
  timers:
    holdTimeSeconds: 9
  transport: {}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: default
data:
  mode: fast
  level: \"3\"
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: ferrule
spec:
  controllerName: ferrule.io/gateway-controller
"
        ),
    );
    assert_eq!(
        cluster.apply(&manifest),
        lines(
            "
            ciliumloadbalancerippool.cilium.io/pool-a serverside-applied
            ciliumbgppeerconfig.cilium.io/peer serverside-applied
            configmap/settings serverside-applied
            gatewayclass.gateway.networking.k8s.io/ferrule serverside-applied
        "
        )
    );

    // managedFields hidden, schema defaults applied, generation 1, keys sorted.
    let pool = cluster.kubectl(&["get", "ippool", "pool-a", "-o", "yaml"]);
    assert_eq!(
        normalize(pool.ok()),
        lines(
            r#"
            apiVersion: cilium.io/v2
            kind: CiliumLoadBalancerIPPool
            metadata:
              creationTimestamp: "<time>"
              generation: 1
              name: pool-a
              resourceVersion: "<rv>"
              uid: <uid>
            spec:
              blocks:
              - cidr: 192.0.2.0/28
              disabled: false
        "#
        )
    );
    let peer = cluster.kubectl(&["get", "ciliumbgppeerconfig", "peer", "-o", "yaml"]);
    assert_eq!(
        normalize(peer.ok()),
        lines(
            r#"
            apiVersion: cilium.io/v2
            kind: CiliumBGPPeerConfig
            metadata:
              creationTimestamp: "<time>"
              generation: 1
              name: peer
              resourceVersion: "<rv>"
              uid: <uid>
            spec:
              ebgpMultihop: 1
              timers:
                connectRetryTimeSeconds: 120
                holdTimeSeconds: 9
                keepAliveTimeSeconds: 30
              transport:
                peerPort: 179
        "#
        )
    );
    // Built-in kinds have no generation.
    let settings = cluster.kubectl(&["get", "configmap", "settings", "-o", "yaml"]);
    assert_eq!(
        normalize(settings.ok()),
        lines(
            r#"
            apiVersion: v1
            data:
              level: "3"
              mode: fast
            kind: ConfigMap
            metadata:
              creationTimestamp: "<time>"
              name: settings
              namespace: default
              resourceVersion: "<rv>"
              uid: <uid>
        "#
        )
    );
    // A create drops status, then the schema's status default fills it in.
    let class = cluster.kubectl(&["get", "gatewayclass", "ferrule", "-o", "yaml"]);
    assert_eq!(
        normalize(class.ok()),
        lines(
            r#"
            apiVersion: gateway.networking.k8s.io/v1
            kind: GatewayClass
            metadata:
              creationTimestamp: "<time>"
              generation: 1
              name: ferrule
              resourceVersion: "<rv>"
              uid: <uid>
            spec:
              controllerName: ferrule.io/gateway-controller
            status:
              conditions:
              - lastTransitionTime: "<time>"
                message: Waiting for controller
                reason: Pending
                status: Unknown
                type: Accepted
        "#
        )
    );

    // Tables: CRD printer columns, and the server-side printers of built-in kinds.
    assert_eq!(
        normalize(cluster.kubectl(&["get", "ippools"]).ok()),
        lines(
            "
            NAME     DISABLED   CONFLICTING   IPS AVAILABLE   AGE
            pool-a   false                                    <age>
        "
        )
    );
    assert_eq!(
        normalize(cluster.kubectl(&["get", "gatewayclasses"]).ok()),
        lines(
            "
            NAME      CONTROLLER                      ACCEPTED   AGE
            ferrule   ferrule.io/gateway-controller   Unknown    <age>
        "
        )
    );
    assert_eq!(
        normalize(cluster.kubectl(&["get", "configmaps"]).ok()),
        lines(
            "
            NAME       DATA   AGE
            settings   2      <age>
        "
        )
    );
    assert_eq!(
        normalize(cluster.kubectl(&["get", "namespaces"]).ok()),
        lines(
            "
            NAME              STATUS   AGE
            default           Active   <age>
            kube-node-lease   Active   <age>
            kube-public       Active   <age>
            kube-system       Active   <age>
        "
        )
    );
    // `--sort-by` on a field outside metadata needs whole objects in the rows
    // (includeObject=Object): pool-a's block sorts before early's.
    let early = cluster.write(
        "early.yaml",
        &POOL
            .replace("pool-a", "early")
            .replace("192.0.2.0/28", "198.51.100.0/28"),
    );
    cluster.apply(&early);
    assert_eq!(
        normalize(
            cluster
                .kubectl(&["get", "ippools", "--sort-by=.spec.blocks[0].cidr"])
                .ok()
        ),
        lines(
            "
            NAME     DISABLED   CONFLICTING   IPS AVAILABLE   AGE
            pool-a   false                                    <age>
            early    false                                    <age>
        "
        )
    );

    // Client-side apply of a built-in kind: created, unchanged, configured.
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  a: \"1\"\n";
    let path = cluster.write("plain.yaml", cm);
    let path = path.to_str().expect("UTF-8 path");
    let apply = ["apply", "-f", path];
    assert_eq!(cluster.kubectl(&apply).ok(), "configmap/plain created\n");
    assert_eq!(cluster.kubectl(&apply).ok(), "configmap/plain unchanged\n");
    cluster.write("plain.yaml", &cm.replace("\"1\"", "\"2\""));
    assert_eq!(cluster.kubectl(&apply).ok(), "configmap/plain configured\n");
}

#[test]
fn get_watch_streams_table_rows() {
    let cluster = Cluster::start();
    cluster.install_cilium_crds(&[POOL_CRD]);
    let pool = cluster.write("pool.yaml", POOL);
    cluster.apply(&pool);

    let watch = cluster.spawn(&["get", "ippools", "-w", "-v=6"]);
    let watch_only = cluster.spawn(&["get", "ippools", "--watch-only", "-v=6"]);
    let events = cluster.spawn(&[
        "get",
        "ippools",
        "--watch-only",
        "--output-watch-events",
        "-v=6",
    ]);
    for kubectl in [&watch, &watch_only, &events] {
        kubectl.wait_for_watch();
    }
    cluster
        .kubectl(&[
            "patch",
            "ippool",
            "pool-a",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"disabled":true}}"#,
        ])
        .ok();

    let two_rows = |out: &str| out.lines().count() == 3;
    let out = watch.wait_for("the changed row", Duration::from_secs(10), two_rows);
    assert_eq!(
        normalize(&out),
        lines(
            "
            NAME     DISABLED   CONFLICTING   IPS AVAILABLE   AGE
            pool-a   false                                    <age>
            pool-a   true                                     <age>
        "
        )
    );
    // The first watch event carries the column definitions, so the header comes with it.
    let one_row = |out: &str| out.lines().count() == 2;
    let out = watch_only.wait_for("the changed row", Duration::from_secs(10), one_row);
    assert_eq!(
        normalize(&out),
        lines(
            "
            NAME     DISABLED   CONFLICTING   IPS AVAILABLE   AGE
            pool-a   true                                     <age>
        "
        )
    );
    let out = events.wait_for("the MODIFIED event", Duration::from_secs(10), one_row);
    assert_eq!(
        normalize(&out),
        lines(
            "
            EVENT      NAME     DISABLED   CONFLICTING   IPS AVAILABLE   AGE
            MODIFIED   pool-a   true                                     <age>
        "
        )
    );
}

#[test]
fn patches_and_apply_conflicts() {
    let cluster = Cluster::start();
    cluster.install_cilium_crds(&[POOL_CRD]);
    let pool = cluster.write("pool.yaml", POOL);
    cluster.apply(&pool);

    let merge = [
        "patch",
        "ippool",
        "pool-a",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"disabled":true}}"#,
    ];
    let patched = "ciliumloadbalancerippool.cilium.io/pool-a patched\n";
    let unchanged = "ciliumloadbalancerippool.cilium.io/pool-a patched (no change)\n";
    assert_eq!(cluster.kubectl(&merge).ok(), patched);
    assert_eq!(cluster.kubectl(&merge).ok(), unchanged);
    let json = [
        "patch",
        "ippool",
        "pool-a",
        "--type",
        "json",
        "-p",
        r#"[{"op":"replace","path":"/spec/disabled","value":false}]"#,
    ];
    assert_eq!(cluster.kubectl(&json).ok(), patched);
    assert_eq!(cluster.kubectl(&json).ok(), unchanged);
    // Strategic merge patch (kubectl's default) does not exist for custom resources.
    let strategic = cluster.kubectl(&["patch", "ippool", "pool-a", "-p", r#"{"spec":{}}"#]);
    assert_eq!(
        strategic.failed(),
        "error: application/strategic-merge-patch+json is not supported by cilium.io/v2, Kind=CiliumLoadBalancerIPPool: the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml\n"
    );

    // Another manager sets spec.disabled to another value: kubectl's own conflict text
    // around the server's message, which names the Update manager with its API version.
    cluster.kubectl(&merge).ok();
    let applier = |manager: &str, disabled: bool, force: bool| {
        let manifest = cluster.write(
            &format!("{manager}.yaml"),
            &format!(
                "apiVersion: cilium.io/v2\nkind: CiliumLoadBalancerIPPool\nmetadata:\n  name: pool-a\nspec:\n  disabled: {disabled}\n"
            ),
        );
        let manifest = manifest.to_str().expect("UTF-8 path").to_owned();
        let manager = format!("--field-manager={manager}");
        let mut args = vec![
            "apply",
            "--server-side",
            manager.as_str(),
            "-f",
            manifest.as_str(),
        ];
        if force {
            args.push("--force-conflicts");
        }
        cluster.kubectl(&args)
    };
    let advice = lines(
        r#"
        Please review the fields above--they currently have other managers. Here
        are the ways you can resolve this warning:
        * If you intend to manage all of these fields, please re-run the apply
          command with the `--force-conflicts` flag.
        * If you do not intend to manage all of the fields, please edit your
          manifest to remove references to the fields that should keep their
          current managers.
        * You may co-own fields by updating your manifest to match the existing
          value; in this case, you'll become the manager if the other manager(s)
          stop managing the field (remove it from their configuration).
        See https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts
    "#,
    );
    let conflict = applier("other", false, false);
    assert_eq!(
        conflict.failed(),
        format!(
            "error: Apply failed with 1 conflict: conflict with \"kubectl-patch\" using cilium.io/v2: .spec.disabled\n{advice}"
        )
    );
    assert_eq!(conflict.stdout, "");
    // Applying the current value co-owns the field without a conflict.
    assert_eq!(
        applier("third", true, false).ok(),
        "ciliumloadbalancerippool.cilium.io/pool-a serverside-applied\n"
    );
    // Two managers in the way: grouped per manager, sorted.
    assert_eq!(
        applier("other", false, false).failed(),
        format!(
            "error: Apply failed with 2 conflicts: conflicts with \"kubectl-patch\" using cilium.io/v2:\n- .spec.disabled\nconflicts with \"third\":\n- .spec.disabled\n{advice}"
        )
    );
    assert_eq!(
        applier("other", false, true).ok(),
        "ciliumloadbalancerippool.cilium.io/pool-a serverside-applied\n"
    );
    let disabled = cluster.kubectl(&[
        "get",
        "ippool",
        "pool-a",
        "-o",
        "jsonpath={.spec.disabled} {.metadata.generation}",
    ]);
    assert_eq!(disabled.ok(), "false 5");
}

#[test]
fn wait_for_a_condition_set_through_the_status_subresource() {
    let cluster = Cluster::start();
    cluster.install_cilium_crds(&[POOL_CRD]);
    let pool = cluster.write("pool.yaml", POOL);
    cluster.apply(&pool);

    let timeout = cluster.kubectl(&[
        "wait",
        "--for=condition=cilium.io/IPsAvailable",
        "--timeout=1s",
        "ippool/pool-a",
    ]);
    assert_eq!(
        timeout.failed(),
        "error: timed out waiting for the condition on ciliumloadbalancerippools/pool-a\n"
    );

    let waiter = cluster.spawn(&[
        "wait",
        "--for=condition=cilium.io/IPsAvailable",
        "--timeout=20s",
        "ippool/pool-a",
    ]);
    let status = r#"{"status":{"conditions":[{"type":"cilium.io/IPsAvailable","status":"True","reason":"Available","message":"16","lastTransitionTime":"2026-01-01T00:00:00Z"},{"type":"cilium.io/PoolConflict","status":"False","reason":"NoConflict","message":"","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}"#;
    let patch = cluster.kubectl(&[
        "patch",
        "ippool",
        "pool-a",
        "--subresource=status",
        "--type",
        "merge",
        "-p",
        status,
    ]);
    assert_eq!(
        patch.ok(),
        "ciliumloadbalancerippool.cilium.io/pool-a patched\n"
    );
    let out = waiter.wait_for("condition met", Duration::from_secs(20), |out| {
        out.ends_with('\n')
    });
    assert_eq!(
        out,
        "ciliumloadbalancerippool.cilium.io/pool-a condition met\n"
    );
    // The main resource ignores status; the printer columns read it.
    let ignored = cluster.kubectl(&[
        "patch",
        "ippool",
        "pool-a",
        "--type",
        "merge",
        "-p",
        r#"{"status":{"conditions":[]}}"#,
    ]);
    assert_eq!(
        ignored.ok(),
        "ciliumloadbalancerippool.cilium.io/pool-a patched (no change)\n"
    );
    assert_eq!(
        normalize(cluster.kubectl(&["get", "ippools"]).ok()),
        lines(
            "
            NAME     DISABLED   CONFLICTING   IPS AVAILABLE   AGE
            pool-a   false      False         16              <age>
        "
        )
    );
    let generation = cluster.kubectl(&[
        "get",
        "ippool",
        "pool-a",
        "-o",
        "jsonpath={.metadata.generation}",
    ]);
    assert_eq!(generation.ok(), "1", "status writes do not move generation");
}

#[test]
fn delete_waits_for_finalizers() {
    let cluster = Cluster::start();
    cluster.install_cilium_crds(&[POOL_CRD]);
    let held = POOL.replace(
        "  name: pool-a\n",
        "  name: pool-a\n  finalizers:\n  - ferrule.io/test\n",
    );
    let pool = cluster.write("pool.yaml", &held);
    cluster.apply(&pool);

    let delete = cluster.kubectl(&["delete", "ippool", "pool-a", "--wait=false"]);
    assert_eq!(
        delete.ok(),
        "ciliumloadbalancerippool.cilium.io \"pool-a\" deleted\n"
    );
    // Still there, terminating; generation moves when deletion starts.
    let terminating = cluster.kubectl(&["get", "ippool", "pool-a", "-o", "yaml"]);
    assert_eq!(
        normalize(terminating.ok()),
        lines(
            r#"
            apiVersion: cilium.io/v2
            kind: CiliumLoadBalancerIPPool
            metadata:
              creationTimestamp: "<time>"
              deletionGracePeriodSeconds: 0
              deletionTimestamp: "<time>"
              finalizers:
              - ferrule.io/test
              generation: 2
              name: pool-a
              resourceVersion: "<rv>"
              uid: <uid>
            spec:
              blocks:
              - cidr: 192.0.2.0/28
              disabled: false
        "#
        )
    );
    assert_eq!(
        cluster
            .kubectl(&["delete", "ippool", "pool-a", "--wait=false"])
            .ok(),
        "ciliumloadbalancerippool.cilium.io \"pool-a\" deleted\n"
    );
    let release = cluster.kubectl(&[
        "patch",
        "ippool",
        "pool-a",
        "--type",
        "json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
    ]);
    assert_eq!(
        release.ok(),
        "ciliumloadbalancerippool.cilium.io/pool-a patched\n"
    );
    let gone = cluster.kubectl(&["get", "ippool", "pool-a"]);
    assert_eq!(
        gone.failed(),
        "Error from server (NotFound): ciliumloadbalancerippools.cilium.io \"pool-a\" not found\n"
    );
    let again = cluster.kubectl(&["delete", "ippool", "pool-a"]);
    assert_eq!(
        again.failed(),
        "Error from server (NotFound): ciliumloadbalancerippools.cilium.io \"pool-a\" not found\n"
    );
}

#[test]
fn schema_violations_are_reported_as_a_real_server_does() {
    let cluster = Cluster::start();
    cluster.install_cilium_crds(&[POOL_CRD]);
    let bad = cluster.write(
        "bad.yaml",
        "apiVersion: cilium.io/v2\nkind: CiliumLoadBalancerIPPool\nmetadata:\n  name: bad\nspec:\n  disabled: \"yes-string\"\n",
    );
    let bad = bad.to_str().expect("UTF-8 path");
    let invalid = "The CiliumLoadBalancerIPPool \"bad\" is invalid: spec.disabled: Invalid value: \"string\": spec.disabled in body must be of type boolean: \"string\"\n";
    // 422 from create (kubectl renders the Status details, not the message).
    assert_eq!(cluster.kubectl(&["create", "-f", bad]).failed(), invalid);
    assert_eq!(cluster.kubectl(&["apply", "-f", bad]).failed(), invalid);
    // Server-side apply fails earlier, in the typed conversion, with a bare 500.
    assert_eq!(
        cluster
            .kubectl(&["apply", "--server-side", "-f", bad])
            .failed(),
        "Error from server: failed to create typed patch object (/bad; cilium.io/v2, Kind=CiliumLoadBalancerIPPool): .spec.disabled: expected boolean, got &{yes-string}\n"
    );

    let unknown = cluster.write(
        "unknown.yaml",
        "apiVersion: cilium.io/v2\nkind: CiliumLoadBalancerIPPool\nmetadata:\n  name: unk\nspec:\n  foo: bar\n",
    );
    let unknown = unknown.to_str().expect("UTF-8 path");
    let strict = format!(
        "Error from server (BadRequest): error when creating \"{unknown}\": CiliumLoadBalancerIPPool in version \"v2\" cannot be handled as a CiliumLoadBalancerIPPool: strict decoding error: unknown field \"spec.foo\"\n"
    );
    assert_eq!(cluster.kubectl(&["create", "-f", unknown]).failed(), strict);
    assert_eq!(cluster.kubectl(&["apply", "-f", unknown]).failed(), strict);
    assert_eq!(
        cluster
            .kubectl(&["apply", "--server-side", "-f", unknown])
            .failed(),
        "Error from server: failed to create typed patch object (/unk; cilium.io/v2, Kind=CiliumLoadBalancerIPPool): .spec.foo: field not declared in schema\n"
    );
    // --validate=warn: created, pruned, with the server's warning.
    let warn = cluster.kubectl(&["create", "--validate=warn", "-f", unknown]);
    assert_eq!(
        warn.ok(),
        "ciliumloadbalancerippool.cilium.io/unk created\n"
    );
    assert_eq!(warn.stderr, "Warning: unknown field \"spec.foo\"\n");
    let spec = cluster.kubectl(&["get", "ippool", "unk", "-o", "jsonpath={.spec}"]);
    assert_eq!(spec.ok(), r#"{"disabled":false}"#);
    // kubectl patch sends no fieldValidation: the server's default, Warn, prunes the field.
    let patch = cluster.kubectl(&[
        "patch",
        "ippool",
        "unk",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"bar":1}}"#,
    ]);
    assert_eq!(
        patch.ok(),
        "ciliumloadbalancerippool.cilium.io/unk patched (no change)\n"
    );
    assert_eq!(patch.stderr, "Warning: unknown field \"spec.bar\"\n");
}

#[test]
fn objects_of_kinds_not_installed_yet_are_refused_by_kubectl() {
    let cluster = Cluster::start();
    let pool = cluster.write("pool.yaml", POOL);
    let pool = pool.to_str().expect("UTF-8 path");
    let expected = format!(
        "error: resource mapping not found for name: \"pool-a\" namespace: \"\" from \"{pool}\": no matches for kind \"CiliumLoadBalancerIPPool\" in version \"cilium.io/v2\"\nensure CRDs are installed first\n"
    );
    assert_eq!(
        cluster
            .kubectl(&["apply", "--server-side", "-f", pool])
            .failed(),
        expected
    );
    assert_eq!(cluster.kubectl(&["apply", "-f", pool]).failed(), expected);
}

#[test]
fn protobuf_bodies_are_refused_loudly() {
    // Typed Go clients (kubectl create namespace) send protobuf, which this server cannot
    // decode: a real cluster creates the namespace, ferrule-testapi says why it does not.
    let cluster = Cluster::start();
    let create = cluster.kubectl(&["create", "namespace", "team-a"]);
    assert_eq!(
        create.failed(),
        "Error from server (UnsupportedMediaType): the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (ferrule-testapi does not decode application/vnd.kubernetes.protobuf)\n"
    );
    let manifest = cluster.write(
        "ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n",
    );
    let manifest = manifest.to_str().expect("UTF-8 path");
    assert_eq!(
        cluster.kubectl(&["create", "-f", manifest]).ok(),
        "namespace/team-a created\n"
    );
}

#[test]
fn kubectl_speaks_http2_over_tls() {
    let cluster = Cluster::start();
    // Go's HTTP/2 transport logs its frames with this debug switch: the connection is h2.
    let out = cluster.kubectl_env(&["get", "namespaces"], &[("GODEBUG", "http2debug=1")]);
    out.ok();
    assert!(
        out.stderr.contains("http2: Transport creating client conn"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("http2: Transport received HEADERS flags=END_HEADERS stream=1"),
        "{}",
        out.stderr
    );
}

#[test]
fn plain_http_serves_kubectl_in_process_and_from_the_binary() {
    let cluster = Cluster::start_with(Options {
        tls: false,
        ..Options::default()
    });
    let kubeconfig =
        std::fs::read_to_string(cluster.api().kubeconfig_path()).expect("the kubeconfig");
    assert!(
        kubeconfig.contains("server: http://127.0.0.1:"),
        "{kubeconfig}"
    );
    assert!(
        !kubeconfig.contains("certificate-authority-data"),
        "{kubeconfig}"
    );
    assert_eq!(
        normalize(cluster.kubectl(&["get", "namespace", "default"]).ok()),
        lines(
            "
            NAME      STATUS   AGE
            default   Active   <age>
        "
        )
    );

    // The binary: `--plain-http` writes an http:// kubeconfig kubectl can use.
    let dir = std::env::temp_dir().join(format!("ferrule-kubectl-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let kubeconfig = dir.join("kubeconfig");
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_ferrule-testapi"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--plain-http",
            "--kubeconfig-out",
        ])
        .arg(&kubeconfig)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("ferrule-testapi starts");
    let mut line = String::new();
    let stdout = server.stdout.take().expect("piped stdout");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
        .expect("the binary reports where it listens");
    assert!(
        line.starts_with("ferrule-testapi listening on 127.0.0.1:"),
        "{line}"
    );
    let out = std::process::Command::new(harness::kubectl_path())
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["get", "namespace", "kube-system", "-o", "name"])
        .env("KUBECACHEDIR", dir.join("cache"))
        .output()
        .expect("kubectl runs");
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "namespace/kube-system\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// ferrule's own derived object: the generated CRD installs, an announcer's object (built with
/// the ferrule-api type, as ferrule-l2announcer builds it) applies, and `kubectl get` shows
/// which node answers for which IPs and Services.
#[test]
fn l2announcements_show_who_announces_what() {
    use ferrule_api::node_l2announcements::v1alpha1::{
        Announcement, NodeL2Announcement, ServiceRef,
    };

    let cluster = Cluster::start();
    let crd = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/crds/ferrule.io_nodel2announcements.yaml");
    assert_eq!(
        cluster.apply(&crd),
        "customresourcedefinition.apiextensions.k8s.io/nodel2announcements.ferrule.io serverside-applied\n"
    );
    cluster
        .kubectl(&[
            "wait",
            "--for=condition=Established",
            "--timeout=10s",
            "crd/nodel2announcements.ferrule.io",
        ])
        .ok();

    let announce = |namespace: &str, name: &str, ip: &str| Announcement {
        service: ServiceRef {
            namespace: namespace.into(),
            name: name.into(),
        },
        ip: ip.into(),
        interface_regexes: vec!["^eth[0-9]+$".into()],
    };
    let node_a = NodeL2Announcement::for_node(
        "node-a",
        vec![
            announce("shop", "web", "198.51.100.7"),
            announce("default", "dns", "192.0.2.10"),
            announce("shop", "web", "2001:db8::7"),
        ],
    );
    let node_b = NodeL2Announcement::for_node("node-b", Vec::new());
    for object in [&node_a, &node_b] {
        let name = object
            .metadata
            .name
            .as_deref()
            .expect("named after the node");
        let json = serde_json::to_string(object).expect("serializes");
        let path = cluster.write(&format!("{name}.json"), &json);
        assert_eq!(
            cluster.apply(&path),
            format!("nodel2announcement.ferrule.io/{name} serverside-applied\n")
        );
    }

    let expected = lines(
        "
        NAME     NODE     IPS                                   SERVICES               AGE
        node-a   node-a   192.0.2.10,198.51.100.7,2001:db8::7   default/dns,shop/web   <age>
        node-b   node-b                                                                <age>
    ",
    );
    assert_eq!(
        normalize(cluster.kubectl(&["get", "nodel2announcements"]).ok()),
        expected
    );
    assert_eq!(normalize(cluster.kubectl(&["get", "nl2a"]).ok()), expected);

    let bad = cluster.write(
        "bad.yaml",
        "
apiVersion: ferrule.io/v1alpha1
kind: NodeL2Announcement
metadata:
  name: node-c
spec:
  nodeName: node-c
  announcements:
  - service: { namespace: default, name: web }
    ip: not-an-ip
",
    );
    let refused = cluster.kubectl(&["apply", "--server-side", "-f", bad.to_str().expect("UTF-8")]);
    assert!(
        refused.failed().contains("spec.announcements[0].ip"),
        "{}",
        refused.failed()
    );
}
