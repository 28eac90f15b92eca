defmodule Interop.SoakTest do
  # A bounded soak (docs/soak.md): sustained traffic between BEAM processes through
  # Rust processes on beamnode, with kill -9 / restarts and network partitions on a
  # schedule. It checks that no message of a sender/receiver pair is lost except
  # across a drop (in beamnode's log) of a connection on that pair's path, that none
  # is reordered, duplicated or
  # corrupted, and that beamnode's open file descriptors, process count and memory
  # come back to their baseline once the traffic stops and the cluster is whole.
  #
  # Env: INTEROP_SOAK_SECONDS (default 60: the CI run; docs/soak.md runs 1800),
  # INTEROP_SOAK_QUIET (seconds of undisturbed traffic before each fault, default 5),
  # INTEROP_SOAK_RATE (messages per second per pair, default 100).
  use ExUnit.Case, async: false
  import Interop
  @moduletag :soak

  @seconds String.to_integer(System.get_env("INTEROP_SOAK_SECONDS", "60"))
  @quiet_ms String.to_integer(System.get_env("INTEROP_SOAK_QUIET", "5")) * 1_000
  @rate String.to_integer(System.get_env("INTEROP_SOAK_RATE", "100"))
  @tick_ms 20
  @warmup_ms 5_000
  # A fault is only started with at least this much soak time left.
  @fault_room_ms 25_000
  # A gap's interval (sending of the message before it .. receipt of the one after)
  # is compared with connection drop times give or take this much.
  @slack_ms 1_000
  # beamnode's resident memory after the soak may exceed the warmed-up baseline by
  # at most this much (allocator caches, fragmentation; a leak per message or per
  # connection grows without bound and crosses it in the long run).
  @rss_tolerance_kb 16 * 1024

  # {pair, sender role, receiver role, via}: via :own is a beamnode_demo:echo_loop
  # process spawned on beamnode for that pair alone, :echo the registered `echo`
  # every pair shares. Messages go sender -> Rust -> receiver (Rust sends the last
  # leg, dialing the receiver's node when it has no connection to it).
  @pairs [
    {:erl_erl, :erl, :erl, :own},
    {:elixir_elixir, :elixir, :elixir, :own},
    {:tests_tests, :tests, :tests, :own},
    {:erl_elixir, :erl, :elixir, :echo},
    {:elixir_tests, :elixir, :tests, :echo},
    {:tests_erl, :tests, :erl, :echo}
  ]
  # The CI run's 60 s reach the first three (a kill, beamnode partitioned, a kill);
  # partitions of erl and elixir come from the fourth fault on, in longer runs (kept
  # out of CI while the first 30-minute run's gaps after them were unexplained, see
  # docs/soak.md).
  @faults [
    {:kill, :erl},
    {:disconnect, :beamnode},
    {:kill, :elixir},
    {:disconnect, :elixir},
    {:disconnect, :erl}
  ]

  setup do
    cluster_up()
  end

  defp now, do: System.os_time(:millisecond)
  defp mono, do: System.monotonic_time(:millisecond)

  ## Reports from the receivers

  defp collector_loop(reports) do
    receive do
      {:soak_report, id, _node, st} ->
        # Reports of one receiver are cumulative and arrive in order; keep the latest.
        collector_loop(Map.put(reports, id, st))

      {:get, from} ->
        send(from, {:reports, reports})
        collector_loop(reports)
    end
  end

  defp reports(st) do
    send(st.collector, {:get, self()})

    receive do
      {:reports, r} -> r
    after
      10_000 -> flunk("soak collector did not answer")
    end
  end

  ## Pairs

  defp role_node(:tests), do: node()
  defp role_node(role), do: node_of(role)

  defp start_gen(st, {name, s_role, r_role, via} = pair) do
    gen = Map.get(st.gen_no, name, 0) + 1
    id = {name, gen}
    recv = on(role_node(r_role), :interop_peer, :soak_receiver, [st.collector, id])
    dest = if via == :own, do: Map.fetch!(st.echo_loops, name), else: {:echo, rust()}
    sender = on(role_node(s_role), :interop_peer, :soak_sender, [dest, recv, id, @rate, @tick_ms])

    g = %{
      id: id,
      pair: pair,
      sender: sender,
      receiver: recv,
      started: now(),
      ended: nil,
      sent: nil
    }

    %{st | gen_no: Map.put(st.gen_no, name, gen), gens: Map.put(st.gens, id, g)}
  end

  defp live_gens(st), do: st.gens |> Map.values() |> Enum.filter(&is_nil(&1.ended))

  # Stops a generation's sender when it still runs (its node alive) and notes its count.
  defp stop_sender(g) do
    send(g.sender, {:stop, self()})
    id = g.id

    receive do
      {:soak_sent, ^id, n} -> n
    after
      5_000 -> nil
    end
  end

  # After a kill: every generation with an end on the killed node ends; the pair
  # starts again on the new incarnation.
  defp restart_pairs_on(st, role) do
    Enum.reduce(live_gens(st), st, fn g, st ->
      {_, s_role, r_role, _} = g.pair

      if role in [s_role, r_role] do
        sent = if s_role == role, do: nil, else: stop_sender(g)
        # The surviving receiver reports what it got, then ends.
        if r_role != role, do: send(g.receiver, {:report, st.collector})
        if r_role != role, do: send(g.receiver, :stop)
        g = %{g | ended: "#{role} killed", sent: sent}
        start_gen(%{st | gens: Map.put(st.gens, g.id, g)}, g.pair)
      else
        st
      end
    end)
  end

  # Every running generation has received something after `t`.
  defp wait_flowing(st, t, what) do
    wait_until("every pair to carry traffic again (#{what})", 60_000, fn ->
      r = reports(st)
      Enum.all?(live_gens(st), fn g -> match?(%{last_at: at} when at > t, r[g.id]) end)
    end)
  end

  ## Node events on the runner

  # Drains the runner's nodeup/nodedown messages into a tally of nodedowns per node.
  # (Drops between BEAM nodes are OTP's business: with OTP 25's
  # prevent_overlapping_partitions, global on a BEAM node may cut others when one is
  # partitioned. They are counted, not judged; the pairs' paths only use connections
  # to beamnode.)
  defp drain_node_events(st) do
    receive do
      {:nodedown, n, _} ->
        drain_node_events(%{st | downs: Map.update(st.downs, n, 1, &(&1 + 1))})

      {:nodeup, _, _} ->
        drain_node_events(st)
    after
      0 -> st
    end
  end

  ## Faults

  defp inject(st, {kind, role} = fault) do
    victim = node_of(role)
    st = drain_node_events(st)
    t0 = now()
    m0 = mono()

    case kind do
      :kill ->
        docker!("kill", role)
        assert_receive {:nodedown, ^victim, _}, 15_000
        docker!("start", role)

      :disconnect ->
        docker!("disconnect", role)
        assert_receive {:nodedown, ^victim, _}, (ticktime() * 3 + 10) * 1_000
        docker!("connect", role)
    end

    st = %{st | downs: Map.update(st.downs, victim, 1, &(&1 + 1))}
    wait_until("#{victim} back (Node.connect)", 60_000, fn -> Node.connect(victim) == true end)
    if role != :beamnode, do: load_helper(victim)
    st = if kind == :kill, do: restart_pairs_on(st, role), else: st
    t_back = now()
    wait_flowing(st, t_back, "#{kind} #{role}")
    t1 = now()
    st = drain_node_events(st)
    stat = os_stat(:beamnode)

    IO.puts(
      "    #{div(mono() - st.m_start, 1000)} s: #{kind} #{role}: every pair flowing again " <>
        "after #{Float.round((mono() - m0) / 1000, 1)} s; beamnode fds #{stat.fds}, " <>
        "rss #{stat.rss_kb} kB"
    )

    window = %{fault: fault, roles: [role], t0: t0, t1: t1}
    %{st | windows: [window | st.windows], samples: [stat | st.samples]}
  end

  ## Judging the receivers' reports

  # Connection drops as beamnode saw them, from its log (it runs for the whole soak,
  # so its log is complete): [{peer node name, unix time ms}] for every "connection
  # down" and "node not responding" line. These are the connection epochs: a message
  # may only be lost across one of them.
  @doc false
  def rust_drops(log) do
    for line <- String.split(log, "\n"),
        String.contains?(line, "connection down") or String.contains?(line, "not responding"),
        [_, ts] <- [Regex.run(~r/^(\d{4}-\d\d-\d\dT[0-9:.]+Z)/, line)],
        [_, peer] <- [Regex.run(~r/ peer=([^ ]+)/, line)],
        {:ok, dt, 0} <- [DateTime.from_iso8601(ts)],
        do: {peer, DateTime.to_unix(dt, :millisecond)}
  end

  # beamnode's log lines between t0 and t1 (unix ms) that name one of `nodes`.
  defp log_around(log, t0, t1, nodes) do
    names = Enum.map(nodes, &to_string/1)

    for line <- String.split(log, "\n"),
        [_, ts] <- [Regex.run(~r/^(\d{4}-\d\d-\d\dT[0-9:.]+Z)/, line)],
        {:ok, dt, 0} <- [DateTime.from_iso8601(ts)],
        t = DateTime.to_unix(dt, :millisecond),
        t >= t0 and t <= t1,
        Enum.any?(names, &String.contains?(line, &1)),
        do: String.replace(line, ~r/ flags=\S+/, "")
  end

  # A gap {last, seq, sent_before, received_before, received_after} in generation g
  # is excused when beamnode saw a connection to the sender's or the receiver's node
  # drop between the *sending* of the message before the gap and the receipt of the
  # one after it (give or take @slack_ms): every lost message was in flight in that
  # interval, and a message may only be lost with its connection. (The message before
  # a gap may itself arrive late: sent into a connection that then broke, delivered
  # after the partition healed by the peer's TCP retransmission.) Returns the others.
  @doc false
  def unexcused_gaps(g, st_report, drops) do
    {_, s_role, r_role, _} = g.pair
    path = [to_string(role_node(s_role)), to_string(role_node(r_role))]

    for {last, seq, ta, _received_before, tb} = gap <- st_report.gaps,
        ta = if(ta == 0, do: g.started, else: ta),
        not Enum.any?(drops, fn {peer, t} ->
          peer in path and t >= ta - @slack_ms and t <= tb + @slack_ms
        end),
        do: {g.id, last, seq, gap}
  end

  # The judging itself, on made-up reports: it must flag a gap outside any fault
  # window on the path, a reorder and a corrupt payload, and excuse a gap inside one.
  defp self_check do
    log =
      "2026-12-06T10:38:44.340289Z  WARN node{name=beamnode@x}:conn{peer=#{erl()}}: " <>
        "beamnode::net::connection: node not responding; removing (timed out) connection peer=#{erl()}\n" <>
        "2026-12-06T10:38:49.336450Z  INFO conn{peer=#{elixir()}}: beamnode::net::connection: " <>
        "connection up peer=#{elixir()} visible=true\n"

    drops = rust_drops(log)
    t = 1_796_553_524_340
    assert drops == [{to_string(erl()), t}]
    g = %{id: {:p, 1}, pair: {:p, :erl, :elixir, :echo}, started: 1_000}
    other_g = %{g | pair: {:p, :tests, :tests, :own}}
    across = %{gaps: [{10, 20, t - 4_000, t - 3_000, t + 5_000}]}
    # Sent before the drop, received (late) after it: still across the drop.
    late = %{gaps: [{10, 20, t - 500, t + 3_000, t + 5_000}]}
    elsewhere = %{gaps: [{10, 20, t + 20_000, t + 20_010, t + 20_100}]}
    assert unexcused_gaps(g, across, drops) == []
    assert unexcused_gaps(g, late, drops) == []
    assert [_] = unexcused_gaps(g, elsewhere, drops)
    assert [_] = unexcused_gaps(other_g, across, drops)

    assert [_ | _] = problems(%{n: 5, nreorders: 1, corrupt: 0, stray: 0, ngaps: 0, gaps: []})

    assert [_ | _] = problems(%{n: 5, nreorders: 0, corrupt: 1, stray: 0, ngaps: 0, gaps: []})

    assert problems(%{n: 5, nreorders: 0, corrupt: 0, stray: 0, ngaps: 0, gaps: []}) == []
  end

  defp problems(r) do
    for {k, what} <- [nreorders: "reordered/duplicated", corrupt: "corrupt", stray: "stray"],
        r[k] > 0,
        do: "#{r[k]} #{what}" <> if(k == :nreorders, do: " #{inspect(r[:reorders])}", else: "")
  end

  ## The scenario

  @tag timeout: (@seconds + 300) * 1_000
  test "soak: sustained traffic through Rust with kills and partitions; no loss on a connection that stayed up; fds and memory back to baseline" do
    self_check()
    :ok = :net_kernel.monitor_nodes(true, [:nodedown_reason])
    load_helper(node())
    rust = rust()
    m_start = mono()
    deadline = m_start + @seconds * 1_000
    before = os_stat(:beamnode)
    assert before.comm == "beamnode"
    procs_before = on(rust, :erlang, :system_info, [:process_count])
    collector = spawn_link(fn -> collector_loop(%{}) end)

    echo_loops =
      for {name, _, _, :own} <- @pairs,
          into: %{},
          do: {name, Node.spawn(rust, :beamnode_demo, :echo_loop, [])}

    st = %{
      collector: collector,
      echo_loops: echo_loops,
      gen_no: %{},
      gens: %{},
      windows: [],
      samples: [],
      downs: %{},
      m_start: m_start,
      t_start: now()
    }

    st = Enum.reduce(@pairs, st, &start_gen(&2, &1))

    IO.puts(
      "    soak: #{@seconds} s, #{length(@pairs)} pairs at #{@rate} msg/s each, " <>
        "#{div(@quiet_ms, 1000)} s of quiet traffic before each fault, net_ticktime #{ticktime()}"
    )

    t_warm = now()
    Process.sleep(@warmup_ms)
    wait_flowing(st, t_warm, "warm-up")
    # Baseline: warmed up, every connection of the traffic open.
    base = os_stat(:beamnode)

    IO.puts(
      "    baseline after warm-up: beamnode fds #{base.fds} (#{before.fds} before the traffic), " <>
        "rss #{base.rss_kb} kB (#{before.rss_kb} kB before), threads #{base.threads}, " <>
        "processes #{procs_before} before the traffic"
    )

    # Faults on a schedule, each after @quiet_ms of undisturbed traffic, while time is left.
    st =
      Enum.reduce_while(Stream.cycle(@faults) |> Stream.take(10_000), st, fn fault, st ->
        Process.sleep(@quiet_ms)

        if deadline - mono() < @fault_room_ms do
          {:halt, st}
        else
          {:cont, inject(st, fault)}
        end
      end)

    rest = deadline - mono()
    if rest > 0, do: Process.sleep(rest)
    st = drain_node_events(st)

    # Stop the traffic: every sender reports how many it sent; every receiver must get
    # all of them (no loss at the tail).
    gens =
      Enum.reduce(live_gens(st), st.gens, fn g, gens ->
        sent = stop_sender(g)
        assert is_integer(sent), "sender of #{inspect(g.id)} did not stop"
        Map.put(gens, g.id, %{g | sent: sent, ended: "soak end"})
      end)

    st = %{st | gens: gens}
    finals = for {id, %{ended: "soak end"} = g} <- gens, into: %{}, do: {id, g}

    # Every receiver gets its sender's last message (or 30 s pass: judged below).
    settle(
      30_000,
      fn ->
        for {_, g} <- finals, do: send(g.receiver, {:report, collector})
        Process.sleep(200)
        reports(st)
      end,
      fn r -> Enum.all?(finals, fn {id, g} -> r[id] && r[id].last >= g.sent end) end
    )

    r = reports(st)
    for {_, g} <- gens, do: send(g.receiver, :stop)
    for {_, pid} <- echo_loops, do: send(pid, :stop)

    # Figures, per pair (all its generations).
    IO.puts("    pair            gens      sent  received           lost  gaps  reorders")

    for {name, _, _, _} = pair <- @pairs do
      gs = for {_, %{pair: ^pair} = g} <- gens, do: g
      # A sender killed with its node never said how many it sent: its receiver's
      # last sequence number counts instead, and the total is marked "+".
      known =
        Enum.map(gs, fn g ->
          g.sent || (r[g.id] && {:at_least, r[g.id].last}) || {:at_least, 0}
        end)

      rec = Enum.sum(for g <- gs, r[g.id], do: r[g.id].n)
      lost = Enum.sum(for g <- gs, r[g.id], do: r[g.id].lost)
      ngaps = Enum.sum(for g <- gs, r[g.id], do: r[g.id].ngaps)
      nre = Enum.sum(for g <- gs, r[g.id], do: r[g.id].nreorders)

      total =
        Enum.sum(
          Enum.map(known, fn
            {:at_least, n} -> n
            n -> n
          end)
        )

      sent = if Enum.all?(known, &is_integer/1), do: "#{total}", else: "#{total}+"

      IO.puts(
        "    #{String.pad_trailing(to_string(name), 14)} #{String.pad_leading("#{length(gs)}", 5)}" <>
          " #{String.pad_leading(sent, 9)} #{String.pad_leading("#{rec}", 9)}" <>
          " #{String.pad_leading("#{lost}", 15)} #{String.pad_leading("#{ngaps}", 5)}" <>
          " #{String.pad_leading("#{nre}", 9)}"
      )
    end

    faults = st.windows |> Enum.reverse() |> Enum.map(& &1.fault)
    # beamnode's log also holds the scenarios before this one: only drops since the start.
    log = rust_log()
    drops = log |> rust_drops() |> Enum.filter(fn {_, t} -> t >= st.t_start end)

    # Drops of beamnode's connections outside every fault window on either end.
    unplanned =
      for {peer, t} <- drops,
          not Enum.any?(st.windows, fn w ->
            (to_string(node_of(hd(w.roles))) == peer or w.roles == [:beamnode]) and
              t >= w.t0 - @slack_ms and t <= w.t1 + @slack_ms
          end),
          do: {peer, t}

    IO.puts(
      "    faults injected: #{length(faults)} (" <>
        (Enum.frequencies(faults) |> Enum.map_join(", ", fn {{k, r}, n} -> "#{k} #{r} x#{n}" end)) <>
        "); nodedowns seen by the runner: #{inspect(st.downs)}; beamnode's connection " <>
        "drops: #{length(drops)}, outside a fault on that peer: #{length(unplanned)} #{inspect(unplanned)}"
    )

    # Checks: reports from every generation; no reorder, corruption or stray message;
    # no gap outside a fault on the pair's path; no loss at the tail.
    missing = for {id, _} <- gens, r[id] == nil, do: id
    assert missing == [], "no report from the receivers of #{inspect(missing)}"

    bad =
      for {id, g} <- gens,
          p <- problems(r[id]) ++ Enum.map(unexcused_gaps(g, r[id], drops), &inspect/1),
          do: "#{inspect(id)}: #{p}"

    tail =
      for {id, g} <- finals,
          r[id].last != g.sent,
          do: "#{inspect(id)}: sent #{g.sent}, last received #{r[id].last}"

    overflow = for {id, _} <- gens, r[id].ngaps > 1000, do: id

    # For a gap nothing excuses: beamnode's log lines about the pair's nodes around it.
    for {id, g} <- gens, {_, _, _, {_, _, ta, _, tb}} <- unexcused_gaps(g, r[id], drops) do
      {_, s_role, r_role, _} = g.pair
      IO.puts("    beamnode's log around the gap in #{inspect(id)} (#{ta}..#{tb}):")

      log
      |> log_around(ta - 10_000, tb + 5_000, [role_node(s_role), role_node(r_role)])
      |> Enum.take(60)
      |> Enum.each(&IO.puts("      " <> &1))
    end

    # Resources: once the traffic stopped and the cluster is whole, beamnode's fds
    # come back to the warmed-up baseline (exactly; polled while connections settle),
    # its process count to the one before the traffic, its memory to within
    # @rss_tolerance_kb of the baseline. Measured and printed before any verdict.
    for n <- [rust | beam_peers()], do: Node.connect(n)

    procs =
      settle(20_000, fn -> on(rust, :erlang, :system_info, [:process_count]) end, fn p ->
        p <= procs_before
      end)

    final = settle(30_000, fn -> os_stat(:beamnode) end, fn s -> s.fds <= base.fds end)
    rss_max = Enum.max(Enum.map([base | st.samples], & &1.rss_kb))

    IO.puts(
      "    beamnode after: fds #{final.fds} (baseline #{base.fds}), rss #{final.rss_kb} kB " <>
        "(baseline #{base.rss_kb} kB, max sampled #{rss_max} kB, peak VmHWM #{final.hwm_kb} kB), " <>
        "threads #{final.threads} (baseline #{base.threads}), processes #{procs} (#{procs_before} before)"
    )

    assert bad == [],
           "messages lost on a connection that stayed up, or reordered:\n" <> Enum.join(bad, "\n")

    assert tail == [], "messages lost at the end of the soak:\n" <> Enum.join(tail, "\n")
    assert overflow == [], "too many gaps to judge in #{inspect(overflow)}"

    for {name, _, _, _} <- @pairs do
      assert Enum.any?(finals, fn {{n, _}, g} -> n == name and g.sent > 0 end),
             "pair #{name} carried no traffic at the end"
    end

    assert final.comm == "beamnode"
    assert procs <= procs_before, "beamnode's processes: #{procs_before} before, #{procs} after"
    assert final.fds <= base.fds, "beamnode's open fds: #{base.fds} baseline, #{final.fds} after"

    assert final.rss_kb <= base.rss_kb + @rss_tolerance_kb,
           "beamnode's memory grew: #{base.rss_kb} kB -> #{final.rss_kb} kB"
  end

  # Polls `get` every 500 ms until `ok?` holds of its value or `ms` pass; returns the
  # last value either way (the caller judges it).
  defp settle(ms, get, ok?) do
    deadline = mono() + ms

    Enum.reduce_while(Stream.repeatedly(fn -> :poll end) |> Stream.take(1_000), nil, fn _, _ ->
      v = get.()

      cond do
        ok?.(v) or mono() > deadline ->
          {:halt, v}

        true ->
          Process.sleep(500)
          {:cont, v}
      end
    end)
  end
end
