defmodule Interop.RpcTest do
  # rpc/erpc into beamnode's Rust functions across containers (issue 5): the demo
  # module rust_math and the native erlang:* functions `beamnode run` serves, called
  # from the runner (Elixir, as typed in iex) and from inside the erl and elixir
  # containers, with the result shapes BEAM nodes give. Tagged :core.
  use ExUnit.Case, async: false
  import Interop
  @moduletag :core

  setup do
    cluster_up()
  end

  test "rpc/erpc: rust_math from the runner (:rpc.call, :erpc.call, send_request, Task)" do
    assert :rpc.call(rust(), :rust_math, :add, [1, 2]) == 3
    assert :erpc.call(rust(), :rust_math, :mul, [6, 7]) == 42
    assert :erpc.call(rust(), :rust_math, :fib, [100], 5_000) == 354_224_848_179_261_915_075

    assert :rpc.call(rust(), :rust_math, :fail, [:boom]) ==
             {:badrpc, {:EXIT, {:boom, [{:rust_math, :fail, 1, []}]}}}

    assert catch_error(:erpc.call(rust(), :rust_math, :fail, [:boom])) ==
             {:exception, :boom, [{:rust_math, :fail, 1, []}]}

    # undef: the same shape the runner's own node gives for itself.
    undef = {:badrpc, {:EXIT, {:undef, [{:nomod, :nofun, [1], []}]}}}
    assert :rpc.call(rust(), :nomod, :nofun, [1]) == undef
    assert :rpc.call(node(), :nomod, :nofun, [1]) == undef

    assert catch_error(:erpc.call(rust(), :rust_math, :sleep, [5_000], 100)) == {:erpc, :timeout}
    assert :rpc.call(rust(), :rust_math, :sleep, [5_000], 100) == {:badrpc, :timeout}

    req = :erpc.send_request(rust(), :rust_math, :add, [40, 2])
    assert :erpc.receive_response(req, 5_000) == 42

    tasks = for n <- 1..5, do: Task.async(fn -> :erpc.call(rust(), :rust_math, :mul, [n, n]) end)
    assert Task.await_many(tasks, 5_000) == [1, 4, 9, 16, 25]

    assert :rpc.block_call(rust(), :rust_math, :add, [3, 4]) == 7
    assert :rpc.yield(:rpc.async_call(rust(), :rust_math, :add, [2, 3])) == 5
    assert :rpc.call(rust(), :erlang, :node, []) == rust()
    assert node() in :rpc.call(rust(), :erlang, :nodes, [])
  end

  test "rpc/erpc: erl and elixir call rust_math themselves; multicall over all three" do
    for n <- beam_peers() do
      assert on(n, :rpc, :call, [rust(), :rust_math, :add, [2, 3]]) == 5
      assert on(n, :erpc, :call, [rust(), :rust_math, :mul, [4, 5]]) == 20

      assert on(n, :rpc, :call, [rust(), :rust_math, :fail, [n]]) ==
               {:badrpc, {:EXIT, {n, [{:rust_math, :fail, 1, []}]}}}

      assert on(n, :rpc, :block_call, [rust(), :rust_math, :fib, [10]]) == 55
      assert on(n, :rpc, :call, [rust(), :net_adm, :ping, [n]]) == :pong
    end

    nodes = [rust() | beam_peers()]
    assert :erpc.multicall(nodes, :erlang, :node, [], 5_000) == Enum.map(nodes, &{:ok, &1})
    assert :rpc.multicall(nodes, :erlang, :node, [], 5_000) == {nodes, []}

    assert :erpc.multicall([rust()], :rust_math, :add, [1, 1], 5_000) == [ok: 2]
    # rust_math exists only on beamnode: the BEAM peers answer undef.
    assert [{:ok, 2}, {:error, {:exception, :undef, _}}, {:error, {:exception, :undef, _}}] =
             :erpc.multicall(nodes, :rust_math, :add, [1, 1], 5_000)
  end
end
