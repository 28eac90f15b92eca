defmodule Interop.CoreTest do
  # Features that work across containers with a healthy cluster. Tagged :core, so they
  # also run in the long-name pass. Add a scenario: one `test` block here.
  use ExUnit.Case, async: false
  import Interop
  @moduletag :core

  setup do
    cluster_up()
  end

  test "connect: every BEAM node connects to beamnode and sees it in Node.list" do
    assert Node.connect(rust()) == true
    assert rust() in Node.list()

    for n <- beam_peers() do
      assert on(n, :net_kernel, :connect_node, [rust()]) == true
      assert rust() in on(n, :erlang, :nodes, [])
    end

    # beamnode is a visible node: hidden-only listing does not have it.
    refute rust() in Node.list(:hidden)
  end

  test "carrier: connections to beamnode are TLS in a +tls pass (docs/tls.md), TCP otherwise" do
    expected = if System.get_env("INTEROP_TLS", "0") == "1", do: :tls, else: :tcp

    for n <- [node() | beam_peers()] do
      assert on(n, :net_kernel, :connect_node, [rust()]) == true
      {:ok, info} = on(n, :net_kernel, :node_info, [rust()])
      {:net_address, _address, _host, protocol, _family} = Keyword.fetch!(info, :address)
      assert protocol == expected, "#{n} reaches beamnode over #{inspect(protocol)}"
    end
  end

  test "BEAM -> Rust -> BEAM: echo round trip from the runner, erl and elixir" do
    term = %{
      "bin" => <<1, 2, 3, 255>>,
      list: [1, -2, 3.5, :atom, "héllo"],
      big: 2 ** 100 - 1,
      neg: -(2 ** 70),
      unicode: :ünïcødé,
      tuple: {self(), make_ref(), []},
      improper: [1 | 2]
    }

    assert echo_here({:from_runner, term}) == {:ok, {:from_runner, term}}

    for n <- beam_peers() do
      assert echo_from(n, {:from, n, term}) == {:ok, {:from, n, term}}
    end
  end

  test "Rust -> BEAM: beamnode dials erl and elixir itself to deliver echo replies" do
    for n <- beam_peers() do
      # Drop the beamnode <-> n connection, so the send from Rust has to connect.
      on(n, :erlang, :disconnect_node, [rust()])

      wait_until("#{n} to drop beamnode", 5_000, fn ->
        rust() not in on(n, :erlang, :nodes, [])
      end)

      # A message sent while beamnode has not yet seen the close may be lost, as
      # between BEAM nodes; so retry (bounded) until one arrives over a new connection.
      ref = make_ref()

      # The delivery is the proof that beamnode dialled n: the echo came back to n's
      # collector over a connection beamnode set up. (Asking n for its nodes()
      # afterwards was flaky: the change of mesh makes global on the runner cut
      # connections for a moment, prevent_overlapping_partitions, so the runner's own
      # erpc to n could fail with noconnection.)
      wait_until("beamnode to dial #{n} and deliver", 15_000, fn ->
        via_rust_to(n, {:to, n, ref}, 2_000) == {:ok, {:echo, {:to, n, ref}}}
      end)
    end

    ref = make_ref()

    wait_until("beamnode to deliver to the runner", 15_000, fn ->
      via_rust_to(node(), {:to_runner, ref}, 2_000) == {:ok, {:echo, {:to_runner, ref}}}
    end)
  end

  test "GenServer.call to kv from the runner, erl (gen_server:call) and elixir (GenServer.call)" do
    key = {:key, make_ref()}
    assert on(erl(), :interop_peer, :kv, [rust(), {:put, key, [1, 2, 3]}, 5_000]) == :ok
    assert on(elixir(), GenServer, :call, [{:kv, rust()}, {:get, key}]) == {:ok, [1, 2, 3]}
    assert GenServer.call({:kv, rust()}, {:put, key, %{v: 2}}) == :ok
    assert on(erl(), :interop_peer, :kv, [rust(), {:get, key}, 5_000]) == {:ok, %{v: 2}}
    assert GenServer.call({:kv, rust()}, {:get, {:missing, make_ref()}}) == :error
    assert GenServer.call({:kv, rust()}, :nonsense) == {:error, :badarg}
  end

  test "ping: Node.ping / net_adm:ping to beamnode from the runner, erl and elixir" do
    assert Node.ping(rust()) == :pong
    assert on(erl(), :interop_peer, :ping, [rust()]) == :pong
    assert on(elixir(), Node, :ping, [rust()]) == :pong
    # Rust -> BEAM ping: 30_process_test.exs (beamnode_demo:ping/2). An unknown name
    # on the beamnode host is answered by its embedded EPMD: pang.
    assert Node.ping(:"nosuch@#{host_of(:beamnode)}") == :pang
  end

  test "EPMD: the beamnode container's embedded EPMD lists beamnode (net_adm:names)" do
    assert {:ok, names} = :net_adm.names(String.to_charlist(host_of(:beamnode)))
    assert {~c"beamnode", port} = List.keyfind(names, ~c"beamnode", 0)
    assert is_integer(port) and port > 0
    # and the erl container's own epmd lists erl
    assert {:ok, erl_names} = on(elixir(), :net_adm, :names, [String.to_charlist(host_of(:erl))])
    assert List.keymember?(erl_names, ~c"erl", 0)
  end

  test "isolation: the suite's network has no route out of the machine" do
    # 192.0.2.1 is TEST-NET-1 (never routed). The network is `internal: true`: Docker
    # drops what would leave it, so a connect fails (unreachable or timed out).
    for result <- [
          :gen_tcp.connect({192, 0, 2, 1}, 80, [], 1_000),
          on(erl(), :gen_tcp, :connect, [{192, 0, 2, 1}, 80, [], 1_000])
        ] do
      assert {:error, reason} = result
      assert reason in [:enetunreach, :ehostunreach, :timeout]
    end
  end

  test "large messages (fragmented distribution) round-trip from erl and elixir" do
    big = {:big, :binary.copy(<<"0123456789abcdef">>, 20_000), Enum.to_list(1..20_000)}

    for n <- beam_peers() do
      assert echo_from(n, big) == {:ok, big}
    end

    key = {:big, make_ref()}
    assert on(erl(), :interop_peer, :kv, [rust(), {:put, key, big}, 5_000]) == :ok
    assert GenServer.call({:kv, rust()}, {:get, key}) == {:ok, big}
  end
end
