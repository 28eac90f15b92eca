//! Cluster scale: beamnode as one node among N BEAM nodes, against a BEAM node in the
//! same place. The harness starts N member nodes (`member_main/5` in bench_beam.erl),
//! which hold global names and pg members; then, round by round, a fresh subject joins
//! them: a fresh `erl` node running `cluster_subject/3`, or a fresh OS process running
//! this binary in `--cluster-child` mode ([`child`]), which does the same with
//! beamnode's `global` and `pg`. Each subject prints `CLUSTER SyncUs RssGrowth PgUs`
//! and exits.

use super::*;
use beamnode::services::{global, pg};
use beamnode::{Node, NodeConfig};
use std::time::Instant;

/// The pg scope the members fill and the subject syncs.
const SCOPE: &str = "bench_pg";
/// Global names registered by each member.
const NAMES_PER_MEMBER: usize = 10;
/// pg members in the whole cluster.
const PG_MEMBERS: usize = 10_000;
/// Groups they are spread over.
const PG_GROUPS: usize = 100;

/// `CLUSTER SyncUs RssGrowth PgUs` → the three numbers.
fn parse(line: &str) -> (f64, f64, f64) {
    let v: Vec<f64> = line
        .split_whitespace()
        .map(|x| x.parse().expect("number"))
        .collect();
    assert_eq!(v.len(), 3, "CLUSTER line {line:?}");
    (v[0], v[1], v[2])
}

pub(crate) async fn group_cluster(o: &Opts, epmd: u16, dir: &std::path::Path) -> Vec<Row> {
    let n = o.cluster_nodes;
    let names = n * NAMES_PER_MEMBER;
    note(format!(
        "cluster: {n} BEAM member nodes, fully connected, holding {names} global names \
         ({NAMES_PER_MEMBER} each) and {PG_MEMBERS} members of the pg scope {SCOPE} \
         ({PG_GROUPS} groups, spread evenly over the members). Each round a fresh subject \
         node joins them (BEAM: a fresh erl node; beamnode: a fresh OS process with global \
         started): join = connecting to the {n} members one after the other, then \
         global:sync() (checked: all {names} names seen); memory per connection = VmRSS \
         300 ms after the sync minus VmRSS before the first connect, / {n} (the {names} \
         names included); pg sync = starting the scope {SCOPE} until all {PG_MEMBERS} \
         members are seen (polled every ms on both sides). The subject times itself."
    ));
    let pa = dir.to_string_lossy().to_string();
    let member_names: Vec<String> = (1..=n)
        .map(|i| format!("{}@localhost", unique(&format!("cmember{i}_"))))
        .collect();
    let list = format!(
        "[{}]",
        member_names
            .iter()
            .map(|m| format!("'{m}'"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let t0 = Instant::now();
    let mut members = Vec::new();
    for (i, name) in member_names.iter().enumerate() {
        let per = PG_MEMBERS / n + usize::from(i < PG_MEMBERS % n);
        let eval = format!(
            "bench_beam:member_main({}, {list}, {NAMES_PER_MEMBER}, {per}, {PG_GROUPS}).",
            i + 1
        );
        let sname = name.trim_end_matches("@localhost");
        let mut erl = Erl::start_with(sname, COOKIE, epmd, &eval, &["-pa", &pa]);
        erl.expect("READY", Duration::from_secs(120)).await;
        members.push(erl);
    }
    let last = members.last_mut().expect("at least one member");
    last.expect("CLUSTER_READY", Duration::from_secs(180)).await;
    eprintln!(
        "  cluster: {n} members up and converged in {:.1} s",
        t0.elapsed().as_secs_f64()
    );

    let mut join = Row::new(
        format!("cluster: join {n} BEAM nodes, connect + global:sync()"),
        "ms",
        false,
    );
    let mut mem = Row::new(
        format!("cluster: memory per connection ({n} connections, after sync)"),
        "bytes",
        false,
    );
    let mut pg_row = Row::new(
        format!("cluster: pg sync of {PG_MEMBERS} members from {n} nodes"),
        "ms",
        false,
    );
    let exe = std::env::current_exe().expect("current exe");
    for r in 0..o.rounds {
        for side in Bench::order(r) {
            let line = match side {
                Side::Beam => {
                    let eval =
                        format!("bench_beam:cluster_subject({list}, {names}, {PG_MEMBERS}).");
                    let mut erl =
                        Erl::start_with(&unique("csubject"), COOKIE, epmd, &eval, &["-pa", &pa]);
                    let line = erl
                        .expect_line("the CLUSTER line", Duration::from_secs(300), |l| {
                            l.starts_with("CLUSTER")
                        })
                        .await;
                    assert!(
                        erl.wait_exit(Duration::from_secs(30)).await,
                        "the BEAM subject did not halt"
                    );
                    line
                }
                Side::Rust => {
                    let out = tokio::process::Command::new(&exe)
                        .args([
                            "--cluster-child",
                            &epmd.to_string(),
                            &names.to_string(),
                            &PG_MEMBERS.to_string(),
                            &member_names.join(","),
                        ])
                        .env(WORKERS_ENV, o.workers.to_string())
                        .output()
                        .await
                        .expect("run the cluster child");
                    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
                    assert!(
                        out.status.success(),
                        "cluster child failed: {stdout}{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    stdout
                        .lines()
                        .find(|l| l.starts_with("CLUSTER"))
                        .unwrap_or("")
                        .to_string()
                }
            };
            let rest = line
                .strip_prefix("CLUSTER ")
                .unwrap_or_else(|| panic!("subject failed: {line:?}"));
            let (sync_us, rss, pg_us) = parse(rest);
            join.push(side, sync_us / 1e3);
            mem.push(side, rss / n as f64);
            pg_row.push(side, pg_us / 1e3);
            // Let the members see the subject go before the next one comes.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    drop(members);
    let rows = vec![join, mem, pg_row];
    rows.iter().for_each(print_progress);
    rows
}

fn count_pg(scope: &pg::Scope) -> usize {
    scope
        .which_groups()
        .iter()
        .map(|g| scope.get_members(g).len())
        .sum()
}

/// The beamnode subject (`bench_dist --cluster-child EPMD NAMES PG MEMBER,...`): what
/// `cluster_subject/3` in bench_beam.erl does, with beamnode's global and pg.
pub async fn child(epmd: u16, expect_names: usize, expect_pg: usize, members: Vec<Atom>) {
    let name = format!("csubject{}@localhost", std::process::id());
    let config = NodeConfig::new(name, COOKIE)
        .epmd_port(epmd)
        .listen_addr([127, 0, 0, 1].into());
    let node = Node::start(config).await.expect("start node");
    let g = global::start(&node).expect("start global");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss0 = spawn::rss();
    let t0 = Instant::now();
    for m in &members {
        assert!(node.connect(m).await, "connect to {m}");
    }
    g.sync(Some(Duration::from_secs(120)))
        .await
        .expect("global:sync()");
    let sync_us = t0.elapsed().as_secs_f64() * 1e6;
    let got = g.registered_names().len();
    if got != expect_names {
        println!("CLUSTER_ERROR names {got} of {expect_names}");
        std::process::exit(1);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss1 = spawn::rss();
    let t1 = Instant::now();
    let scope = pg::start(&node, SCOPE).expect("start the pg scope");
    let deadline = t1 + Duration::from_secs(120);
    loop {
        let got = count_pg(&scope);
        if got == expect_pg {
            break;
        }
        if Instant::now() > deadline {
            println!("CLUSTER_ERROR pg {got} of {expect_pg}");
            std::process::exit(1);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let pg_us = t1.elapsed().as_secs_f64() * 1e6;
    println!("CLUSTER {sync_us:.0} {} {pg_us:.0}", rss1 - rss0);
}
