defmodule Interop.FaultsTest do
  # Faults that only separate hosts can produce: a container killed, cut off the
  # network for longer than the tick time, restarted. The runner asks the host to act
  # (Interop.docker!/2) and observes from the BEAM side (its own Node.list and
  # monitors, erpc into erl/elixir) and from beamnode's log (no rpc into Rust). Each
  # setup restores a full cluster. Add a scenario: one `test` block here.
  use ExUnit.Case, async: false
  import Interop
  @moduletag :faults

  setup do
    cluster_up()
  end

  for role <- [:erl, :elixir] do
    @tag victim: role
    test "docker kill #{role}: beamnode and the other nodes see nodedown; restarted, it talks to beamnode again",
         %{victim: role} do
      victim = node_of(role)
      [other] = beam_peers() -- [victim]
      # beamnode holds a live connection to the victim.
      assert {:ok, :warm} = echo_from(victim, :warm)
      downs = rust_downs(victim)
      Node.monitor(victim, true)

      t0 = System.monotonic_time(:millisecond)
      docker!("kill", role)
      assert_receive {:nodedown, ^victim}, 15_000

      wait_until("beamnode to log the connection to #{victim} down", 15_000, fn ->
        rust_downs(victim) > downs
      end)

      wait_until("#{other} to drop #{victim}", 15_000, fn ->
        victim not in on(other, :erlang, :nodes, [])
      end)

      IO.puts(
        "    kill #{role}: nodedown seen by runner, #{other} and beamnode in #{seconds_since(t0)} s"
      )

      # beamnode still serves everyone else.
      assert {:ok, :still_here} = echo_from(other, :still_here)
      assert GenServer.call({:kv, rust()}, {:get, {:none, make_ref()}}) == :error

      # The container comes back (new incarnation of the same node name).
      docker!("start", role)
      wait_until("#{victim} back (Node.connect)", 60_000, fn -> Node.connect(victim) == true end)
      load_helper(victim)
      assert {:ok, :again} = echo_from(victim, :again)
      key = {:after_restart, make_ref()}
      assert on(victim, :interop_peer, :kv, [rust(), {:put, key, role}, 5_000]) == :ok
      assert GenServer.call({:kv, rust()}, {:get, key}) == {:ok, role}
      ref = make_ref()
      assert via_rust_to(victim, ref) == {:ok, {:echo, ref}}
    end
  end

  test "network disconnect of beamnode beyond the tick time: nodedown (net_tick_timeout), DOWN noconnection on both sides, then traffic works again" do
    # Everyone holds a connection to beamnode.
    for n <- beam_peers(), do: assert({:ok, :warm} = echo_from(n, :warm))
    assert {:ok, :warm} = echo_here(:warm)
    peers = [node() | beam_peers()]
    downs = Map.new(peers, &{&1, rust_downs(&1)})
    ups = rust_ups(node())
    Node.monitor(rust(), true)
    :ok = :net_kernel.monitor_nodes(true, [:nodedown_reason])
    # Monitors on a registered Rust process, from the runner and from erl (a pending
    # erpc call that returns the DOWN it gets).
    rust = rust()
    kv_ref = Process.monitor({:kv, rust})
    erl_mon = :erpc.send_request(erl(), :interop_peer, :monitor_down, [{:kv, rust}, 60_000])
    limit = (ticktime() * 3 + 10) * 1_000

    t0 = System.monotonic_time(:millisecond)
    docker!("disconnect", :beamnode)
    # BEAM side: the runner, erl and elixir all time out the connection.
    assert_receive {:nodedown, ^rust}, limit
    assert_receive {:nodedown, ^rust, [nodedown_reason: :net_tick_timeout]}, 1_000
    assert_receive {:DOWN, ^kv_ref, :process, {:kv, ^rust}, :noconnection}, 1_000

    for n <- beam_peers() do
      wait_until("#{n} to drop beamnode", limit, fn ->
        rust() not in on(n, :erlang, :nodes, [])
      end)
    end

    t_beam = seconds_since(t0)
    assert {:down, {:kv, ^rust}, :noconnection} = :erpc.receive_response(erl_mon, 5_000)

    # Rust side: beamnode's log reports each of the three connections gone.
    log =
      wait_until("beamnode to log all three connections down", limit, fn ->
        log = rust_log()
        Enum.all?(peers, &(rust_downs(log, &1) > downs[&1])) && log
      end)

    IO.puts(
      "    disconnect: BEAM side nodedown after #{t_beam} s, Rust side after #{seconds_since(t0)} s " <>
        "(net_ticktime #{ticktime()})"
    )

    assert log =~ "not responding" or log =~ "connection down"

    docker!("connect", :beamnode)

    wait_until("Node.connect(beamnode) after reconnect", 30_000, fn ->
      Node.connect(rust()) == true
    end)

    assert {:ok, :back} = echo_here(:back)
    assert rust_ups(node()) > ups

    for n <- beam_peers() do
      assert {:ok, {:back, ^n}} = echo_from(n, {:back, n})
    end

    key = {:after_partition, make_ref()}
    assert GenServer.call({:kv, rust()}, {:put, key, 1}) == :ok
    assert on(elixir(), GenServer, :call, [{:kv, rust()}, {:get, key}]) == {:ok, 1}
    ref = make_ref()
    assert via_rust_to(erl(), ref) == {:ok, {:echo, ref}}
  end

  test "beamnode container restart: it re-registers with EPMD, peers see nodeup and call kv again" do
    key = {:before_restart, make_ref()}
    assert GenServer.call({:kv, rust()}, {:put, key, :old}) == :ok
    host = String.to_charlist(host_of(:beamnode))
    {:ok, names} = :net_adm.names(host)
    {_, old_port} = List.keyfind(names, ~c"beamnode", 0)
    :ok = :net_kernel.monitor_nodes(true)
    rust = rust()

    t0 = System.monotonic_time(:millisecond)
    docker!("restart", :beamnode)
    assert_receive {:nodedown, ^rust}, 20_000

    # The new beamnode starts a new embedded EPMD and registers with it.
    {:ok, names} =
      wait_until("beamnode registered with EPMD again", 30_000, fn ->
        case :net_adm.names(host) do
          {:ok, ns} = ok -> List.keymember?(ns, ~c"beamnode", 0) && ok
          _ -> false
        end
      end)

    {_, port} = List.keyfind(names, ~c"beamnode", 0)

    wait_until("Node.connect(beamnode) after restart", 30_000, fn ->
      Node.connect(rust) == true
    end)

    assert_receive {:nodeup, ^rust}, 5_000

    IO.puts(
      "    restart: beamnode back (port #{old_port} -> #{port}) after #{seconds_since(t0)} s"
    )

    :ok = :net_kernel.monitor_nodes(false)

    # A fresh kv: the old entry is gone; calls work from every BEAM node.
    assert GenServer.call({:kv, rust}, {:get, key}) == :error
    assert on(erl(), :net_kernel, :connect_node, [rust]) == true
    assert on(erl(), :interop_peer, :kv, [rust, {:put, key, :new}, 5_000]) == :ok
    assert on(elixir(), GenServer, :call, [{:kv, rust}, {:get, key}]) == {:ok, :new}
    assert {:ok, :hi} = echo_from(elixir(), :hi)
  end

  test "docker kill beamnode: links to Rust pids exit noconnection, monitors DOWN noconnection, nodedown_reason connection_closed" do
    rust = rust()
    :ok = :net_kernel.monitor_nodes(true, [:nodedown_reason])
    Process.flag(:trap_exit, true)

    # The runner links to one Rust process and monitors another; erl and elixir link to
    # a third from trapping processes of their own.
    linked = Node.spawn(rust, :beamnode_demo, :echo_loop, [])
    true = Process.link(linked)
    watched = Node.spawn(rust, :beamnode_demo, :echo_loop, [])
    mref = Process.monitor(watched)
    kv_ref = Process.monitor({:kv, rust})
    shared = Node.spawn(rust, :beamnode_demo, :echo_loop, [])

    for n <- beam_peers() do
      watcher = on(n, :interop_peer, :link_watch, [shared, self(), 60_000])
      assert_receive {:linked, ^n, ^watcher}, 5_000
    end

    # The links are in place on the Rust side before the kill (a round trip through
    # each process orders it after the LINK signals).
    for p <- [linked, watched, shared] do
      send(p, {self(), :ready})
      assert_receive {:echo, :ready}, 5_000
    end

    t0 = System.monotonic_time(:millisecond)
    docker!("kill", :beamnode)
    assert_receive {:nodedown, ^rust, [nodedown_reason: reason]}, 15_000
    assert reason == :connection_closed
    assert_receive {:EXIT, ^linked, :noconnection}, 1_000
    assert_receive {:DOWN, ^mref, :process, ^watched, :noconnection}, 1_000
    assert_receive {:DOWN, ^kv_ref, :process, {:kv, ^rust}, :noconnection}, 1_000

    for n <- beam_peers() do
      assert_receive {:link_exit, ^n, ^shared, :noconnection}, 15_000
    end

    IO.puts("    kill beamnode: EXIT/DOWN noconnection everywhere after #{seconds_since(t0)} s")

    docker!("start", :beamnode)
    wait_until("Node.connect(beamnode) after start", 60_000, fn -> Node.connect(rust) == true end)
    assert {:ok, :back} = echo_here(:back)
  end
end

