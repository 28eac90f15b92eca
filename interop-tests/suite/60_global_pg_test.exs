defmodule Interop.GlobalPgTest do
  # global and pg across containers, with beamnode's own global_name_server and pg scope
  # as peers of OTP's (beamnode run starts both): names and groups seen on every node,
  # an owner killed, a network partition healed with a name clash resolved, and two
  # BEAM nodes that meet only through beamnode. beamnode is observed through rpc
  # (global:whereis_name/1, pg:get_members/1 and erlang:nodes/0 are served there).
  use ExUnit.Case, async: false
  import Interop
  @moduletag :global

  setup do
    cluster_up()
  end

  defp all_nodes, do: [node(), rust() | beam_peers()]

  # Where every node (the runner itself, erl, elixir, beamnode) resolves `name`.
  defp whereis_everywhere(name) do
    for n <- all_nodes(), into: %{} do
      {n, if(n == node(), do: :global.whereis_name(name), else: on(n, :global, :whereis_name, [name]))}
    end
  end

  defp seen_everywhere?(name, pid), do: Enum.all?(Map.values(whereis_everywhere(name)), &(&1 == pid))

  defp members_everywhere(group) do
    for n <- all_nodes(), into: %{} do
      ms = if n == node(), do: :pg.get_members(group), else: on(n, :pg, :get_members, [group])
      {n, Enum.sort(ms)}
    end
  end

  defp ensure_pg_here do
    case :pg.start(:pg) do
      {:ok, _} -> :ok
      {:error, {:already_started, _}} -> :ok
    end
  end

  # Cuts `role` off the suite's network until every other node has seen it go and it has
  # seen them go (tick time), runs `during`, reconnects the container. The partition is healed by the caller.
  defp partitioned(role, during) do
    victim = node_of(role)
    others = all_nodes() -- [victim]
    :ok = :net_kernel.monitor_nodes(true)
    docker!("disconnect", role)

    try do
      assert_receive {:nodedown, ^victim}, 15_000

      wait_until("every other node to see #{victim} go", 15_000, fn ->
        Enum.all?(others -- [node()], &(victim not in on(&1, :erlang, :nodes, [])))
      end)

      # The victim sees the others go on its own tick timer, which can run up to a tick
      # time behind theirs, and it cannot be asked while it is cut off. Had the network
      # come back before that, the caller's reconnection could reach it first and it
      # would never have been alone.
      Process.sleep(ticktime() * 1_000 + 1_000)
      during.()
    after
      docker!("connect", role)
      :ok = :net_kernel.monitor_nodes(false)
    end
  end

  test "names and groups: registered on erl, elixir, the runner and beamnode, seen on every node" do
    ensure_pg_here()
    rust = rust()
    kv = on(rust, :erlang, :whereis, [:kv])
    assert is_pid(kv)

    {:yes, on_erl} = on(erl(), :interop_peer, :global_owner, [:g_erl])
    {:yes, on_elixir} = on(elixir(), :interop_peer, :global_owner, [:g_elixir])
    here = spawn(fn -> receive(do: (:stop -> :ok)) end)
    :yes = :global.register_name(:g_runner, here)
    # A Rust process registered from the runner: beamnode's server monitors it.
    rust_pid = Node.spawn(rust, :beamnode_demo, :echo_loop, [])
    :yes = :global.register_name(:g_rust, rust_pid)

    expected = %{
      :g_erl => on_erl,
      :g_elixir => on_elixir,
      :g_runner => here,
      :g_rust => rust_pid,
      {:kv, rust} => kv
    }

    for {name, pid} <- expected do
      wait_until("#{inspect(name)} -> #{inspect(pid)} on every node", 10_000, fn ->
        seen_everywhere?(name, pid)
      end)
    end

    # A name registered on beamnode itself (its rpc global:register_name/2) reaches
    # every BEAM node; a pid that has a name already is refused, as by OTP.
    assert on(rust, :global, :register_name, [:g_by_rust, on_elixir]) == :no
    by_rust = spawn(fn -> receive(do: (:stop -> :ok)) end)
    assert on(rust, :global, :register_name, [:g_by_rust, by_rust]) == :yes
    wait_until(":g_by_rust on every node", 10_000, fn -> seen_everywhere?(:g_by_rust, by_rust) end)

    # pg: one member per BEAM node in one group; beamnode's echo and kv in :beamnode.
    group = {:interop, make_ref()}
    m_erl = on(erl(), :interop_peer, :pg_member, [group])
    m_elixir = on(elixir(), :interop_peer, :pg_member, [group])
    m_here = spawn(fn -> receive(do: (:stop -> :ok)) end)
    :ok = :pg.join(group, m_here)
    want = Enum.sort([m_erl, m_elixir, m_here])

    wait_until("pg group with erl, elixir and runner members on every node", 10_000, fn ->
      Enum.all?(Map.values(members_everywhere(group)), &(&1 == want))
    end)

    echo = on(rust, :erlang, :whereis, [:echo])

    wait_until("beamnode's echo and kv in :beamnode on every node", 10_000, fn ->
      Enum.all?(Map.values(members_everywhere(:beamnode)), &(&1 == Enum.sort([echo, kv])))
    end)

    for p <- [on_erl, on_elixir, here, by_rust, m_erl, m_elixir, m_here], do: send(p, :stop)
    Process.exit(rust_pid, :kill)
  end

  test "an owner killed: its name is gone from every node (an erl owner and a Rust owner)" do
    {:yes, owner} = on(erl(), :interop_peer, :global_owner, [:g_doomed_erl])
    rust_owner = Node.spawn(rust(), :beamnode_demo, :echo_loop, [])
    :yes = :global.register_name(:g_doomed_rust, rust_owner)

    for {name, pid} <- [g_doomed_erl: owner, g_doomed_rust: rust_owner] do
      wait_until("#{name} on every node", 10_000, fn -> seen_everywhere?(name, pid) end)
    end

    Process.exit(owner, :kill)
    Process.exit(rust_owner, :kill)

    for name <- [:g_doomed_erl, :g_doomed_rust] do
      wait_until("#{name} gone from every node", 10_000, fn ->
        seen_everywhere?(name, :undefined)
      end)
    end
  end

  test "partition and healing: erl cut off, :clash registered on both sides, one owner survives everywhere" do
    me = self()
    # erl registers :clash itself once it is alone, and tells us after the healing.
    loner = on(erl(), :interop_peer, :register_when_alone, [:clash, me, 60_000])
    rust_owner = Node.spawn(rust(), :beamnode_demo, :echo_loop, [])

    partitioned(:erl, fn ->
      # The majority side (runner, elixir, beamnode) registers :clash to a Rust pid.
      assert :global.register_name(:clash, rust_owner) == :yes

      wait_until(":clash on the majority side", 10_000, fn ->
        Enum.all?([node(), rust(), elixir()], fn n ->
          w = if n == node(), do: :global.whereis_name(:clash), else: on(n, :global, :whereis_name, [:clash])
          w == rust_owner
        end)
      end)
    end)

    # Healing: the runner reconnects; global merges the two partitions.
    wait_until("Node.connect(erl) after the partition", 30_000, fn -> Node.connect(erl()) == true end)
    assert_receive {:alone, erl_node, :clash, ^loner, :yes}, 30_000
    assert erl_node == erl()

    # random_exit_name keeps the pid on the smaller node name (beamnode@… < erl@…) and
    # kills the other.
    wait_until(":clash resolved to the Rust pid on every node", 30_000, fn ->
      seen_everywhere?(:clash, rust_owner)
    end)

    wait_until("erl's :clash owner killed", 10_000, fn ->
      on(erl(), :erlang, :is_process_alive, [loner]) == false
    end)

    assert on(rust(), :erlang, :is_process_alive, [rust_owner]) == true
    settle()
    Process.exit(rust_owner, :kill)
  end

  test "two BEAM nodes that meet only through beamnode form a full mesh" do
    erl = erl()
    elixir = elixir()
    {:yes, owner} = on(elixir, :interop_peer, :global_owner, [:g_mesh])

    # erl alone: cut off until everyone has dropped it, then back on the network,
    # connected to no one (nobody dials it).
    partitioned(:erl, fn -> :ok end)
    refute erl in Node.list()
    refute erl in on(elixir, :erlang, :nodes, [])

    # beamnode dials erl (Rust -> BEAM ping); beamnode's global sync hands erl its
    # known nodes, and erl's global connects to elixir and the runner.
    wait_until("beamnode to ping erl", 30_000, fn ->
      Node.spawn(rust(), :beamnode_demo, :ping, [erl, self()])

      receive do
        {:ping, ^erl, :pong} -> true
        {:ping, ^erl, _} -> false
      after
        5_000 -> false
      end
    end)

    wait_until("erl and elixir connected (met through beamnode)", 20_000, fn ->
      erl in on(elixir, :erlang, :nodes, [])
    end)

    wait_until("erl in a full mesh", 20_000, fn ->
      seen = on(erl, :erlang, :nodes, [])
      Enum.all?([node(), rust(), elixir], &(&1 in seen))
    end)

    # And erl has the cluster's names: elixir's and beamnode's.
    wait_until("erl sees :g_mesh and beamnode's {kv, Node}", 10_000, fn ->
      on(erl, :global, :whereis_name, [:g_mesh]) == owner and
        is_pid(on(erl, :global, :whereis_name, [{:kv, rust()}]))
    end)

    send(owner, :stop)
  end
end
