defmodule Interop.ProcessTest do
  # Process semantics across containers with a healthy cluster: links, monitors and
  # spawn requests between BEAM nodes and Rust processes (beamnode_demo functions),
  # GenServer calls/casts spanning kv servers on erl, elixir and beamnode, and Rust ->
  # BEAM ping (beamnode_demo:ping/2). Each case starts from the runner (Elixir, as typed
  # in iex) and from erl / elixir (interop_peer, plain Erlang). Tagged :core.
  use ExUnit.Case, async: false
  import Interop
  import ExUnit.CaptureIO
  @moduletag :core

  setup do
    cluster_up()
  end

  test "links: Node.spawn_link of beamnode_demo:crash/1 gives a trapping caller {:EXIT, pid, reason}" do
    Process.flag(:trap_exit, true)
    pid = Node.spawn_link(rust(), :beamnode_demo, :crash, [:boom])
    assert node(pid) == rust()
    assert_receive {:EXIT, ^pid, :boom}, 5_000

    for n <- beam_peers() do
      reason = {:bad, n, [1, 2]}
      args = [rust(), :beamnode_demo, :crash, [reason], 5_000]
      assert {:exit, pid, ^reason} = on(n, :interop_peer, :spawn_link_exit, args)
      assert node(pid) == rust()
    end

    # A normal exit does not kill a linked, non-trapping caller; the trapping one sees it.
    pid = Node.spawn_link(rust(), :beamnode_demo, :crash, [:normal])
    assert_receive {:EXIT, ^pid, :normal}, 5_000
  end

  test "monitors: spawn_monitor of crash/1 gives DOWN with its reason; a missing name gives noproc" do
    {pid, ref} = Node.spawn_monitor(rust(), :beamnode_demo, :crash, [{:shutdown, :because}])
    assert_receive {:DOWN, ^ref, :process, ^pid, {:shutdown, :because}}, 5_000

    ref = Process.monitor({:nope, rust()})
    assert_receive {:DOWN, ^ref, :process, {:nope, rust_node}, :noproc}, 5_000
    assert rust_node == rust()

    # A live Rust process: monitor, then stop it -> DOWN normal.
    pid = Node.spawn(rust(), :beamnode_demo, :echo_loop, [])
    ref = Process.monitor(pid)
    send(pid, :stop)
    assert_receive {:DOWN, ^ref, :process, ^pid, :normal}, 5_000

    for n <- beam_peers() do
      args = [rust(), :beamnode_demo, :crash, [{:from, n}], 5_000]
      assert {:down, pid, {:from, ^n}} = on(n, :interop_peer, :spawn_monitor_down, args)
      assert node(pid) == rust()

      assert {:down, {:nope, _}, :noproc} =
               on(n, :interop_peer, :monitor_down, [{:nope, rust()}, 5_000])
    end
  end

  test "spawn: Node.spawn of echo_loop/0 round-trips; an unknown MFA exits with undef" do
    pid = Node.spawn(rust(), :beamnode_demo, :echo_loop, [])
    assert node(pid) == rust()
    send(pid, {self(), {:hi, self()}})
    me = self()
    assert_receive {:echo, {:hi, ^me}}, 5_000
    send(pid, :stop)

    for n <- beam_peers() do
      assert {:ok, pid, {:from, ^n}} =
               on(n, :interop_peer, :spawn_echo, [rust(), {:from, n}, 5_000])

      assert node(pid) == rust()
    end

    # Undefined function: a pid, then the exit undef (as on a BEAM node).
    undef = {:undef, [{:nomod, :nofun, [1, "x"], []}]}
    {pid, ref} = Node.spawn_monitor(rust(), :nomod, :nofun, [1, "x"])
    assert_receive {:DOWN, ^ref, :process, ^pid, ^undef}, 5_000
    Process.flag(:trap_exit, true)
    pid = Node.spawn_link(rust(), :nomod, :nofun, [1, "x"])
    assert_receive {:EXIT, ^pid, ^undef}, 5_000

    for n <- beam_peers() do
      assert {:down, _, {:undef, [{:beamnode_demo, :nosuch, [], []}]}} =
               on(n, :interop_peer, :spawn_monitor_down, [
                 rust(),
                 :beamnode_demo,
                 :nosuch,
                 [],
                 5_000
               ])
    end

    # A fun cannot run on beamnode: the spawn is refused.
    assert_raise ErlangError, ~r/beamnode_cannot_run_funs/, fn ->
      Node.spawn(rust(), fn -> :ok end)
    end
  end

  test "spawn: hello/1 prints through the spawner's group leader (runner, erl, elixir)" do
    out =
      capture_io(fn ->
        {pid, ref} = Node.spawn_monitor(rust(), :beamnode_demo, :hello, ["runner"])
        assert_receive {:DOWN, ^ref, :process, ^pid, :normal}, 5_000
      end)

    assert out == "hello, runner\n"

    for n <- beam_peers() do
      args = [rust(), :beamnode_demo, :hello, [~c"#{n}"], 5_000]
      assert on(n, :interop_peer, :capture_spawn, args) == {:normal, "hello, #{n}\n"}
    end
  end

  test "GenServer: call/cast/multi_call/abcast across kv on erl, elixir and beamnode" do
    for n <- beam_peers(), do: :ok = on(n, :interop_peer, :start_kv, [])
    all = [erl(), elixir(), rust()]
    key = {:multi, make_ref()}

    # call and cast to each node's kv, from the runner and from erl.
    for n <- all do
      assert GenServer.call({:kv, n}, {:put, key, {:call, n}}) == :ok
      assert on(erl(), :gen_server, :call, [{:kv, n}, {:get, key}]) == {:ok, {:call, n}}
    end

    assert GenServer.cast({:kv, rust()}, {:put, key, :cast}) == :ok

    wait_until("cast to reach beamnode's kv", 5_000, fn ->
      GenServer.call({:kv, rust()}, {:get, key}) == {:ok, :cast}
    end)

    # multi_call from the runner (Elixir) and from erl (gen_server:multi_call), with a
    # node that does not exist among them.
    nosuch = :"nosuch@#{host_of(:beamnode)}"
    {replies, bad} = GenServer.multi_call(all ++ [nosuch], :kv, {:get, key})
    assert bad == [nosuch]

    assert Enum.sort(replies) ==
             Enum.sort([
               {erl(), {:ok, {:call, erl()}}},
               {elixir(), {:ok, {:call, elixir()}}},
               {rust(), {:ok, :cast}}
             ])

    {replies, []} = on(erl(), :gen_server, :multi_call, [all, :kv, {:put, key, :multi}, 5_000])
    assert Enum.sort(replies) == Enum.sort(for n <- all, do: {n, :ok})

    # abcast from the runner reaches all three.
    assert GenServer.abcast(all, :kv, {:put, key, :abcast}) == :abcast

    wait_until("abcast to reach every kv", 5_000, fn ->
      {replies, []} = GenServer.multi_call(all, :kv, {:get, key})
      length(replies) == 3 and Enum.all?(replies, fn {_, r} -> r == {:ok, :abcast} end)
    end)

    # A bad request to each: {:error, :badarg}.
    {replies, []} = GenServer.multi_call(all, :kv, :nonsense)
    assert Enum.all?(replies, fn {_, r} -> r == {:error, :badarg} end)
  end

  test "Rust -> BEAM ping: beamnode_demo:ping/2 pings erl and elixir from Rust (pong), a missing node (pang)" do
    for n <- beam_peers() do
      # Drop the connection first, so Rust has to dial (EPMD lookup + handshake).
      on(n, :erlang, :disconnect_node, [rust()])

      wait_until("#{n} to drop beamnode", 5_000, fn ->
        rust() not in on(n, :erlang, :nodes, [])
      end)

      # Right after the drop beamnode may not have seen the close yet; retry (bounded).
      wait_until("beamnode to ping #{n}", 15_000, fn ->
        Node.spawn(rust(), :beamnode_demo, :ping, [n, self()])

        receive do
          {:ping, ^n, :pong} -> true
          {:ping, ^n, _} -> false
        after
          5_000 -> false
        end
      end)
    end

    nosuch = :"nosuch@#{host_of(:erl)}"
    Node.spawn(rust(), :beamnode_demo, :ping, [nosuch, self()])
    assert_receive {:ping, ^nosuch, :pang}, 12_000

    # ping/1 prints the answer through the spawner's group leader.
    out =
      capture_io(fn ->
        {pid, ref} = Node.spawn_monitor(rust(), :beamnode_demo, :ping, [elixir()])
        assert_receive {:DOWN, ^ref, :process, ^pid, :normal}, 12_000
      end)

    assert out == "pong\n"
  end
end

