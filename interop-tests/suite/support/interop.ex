defmodule Interop do
  @moduledoc """
  Helpers for the Docker interop scenarios: node names, bounded waits, code on the
  BEAM peers, and the control channel to the host (docker kill / start / restart,
  network disconnect / connect, logs), which scripts/docker-suite.sh serves.
  """
  import ExUnit.Assertions

  @roles [:erl, :elixir, :beamnode, :tests]
  @control "/control"

  ## Names

  def names_mode, do: System.get_env("INTEROP_NAMES", "short")
  def domain, do: System.get_env("INTEROP_DOMAIN", "interop.test")
  def ticktime, do: String.to_integer(System.get_env("INTEROP_TICKTIME", "4"))

  @doc "Host name of a role's container, as node names use it (short or long)."
  def host_of(role) when role in @roles do
    if names_mode() == "long", do: "#{role}.#{domain()}", else: "#{role}"
  end

  @doc "Node name of a role: erl@erl, or erl@erl.interop.test with long names."
  def node_of(role) when role in @roles, do: :"#{role}@#{host_of(role)}"

  def rust, do: node_of(:beamnode)
  def erl, do: node_of(:erl)
  def elixir, do: node_of(:elixir)
  def beam_peers, do: [erl(), elixir()]

  ## Waiting

  @doc "Polls `fun` every 100 ms until it returns a truthy value (returned); flunks after `ms`."
  def wait_until(what, ms, fun) do
    deadline = System.monotonic_time(:millisecond) + ms
    poll(what, ms, deadline, fun)
  end

  defp poll(what, ms, deadline, fun) do
    value =
      try do
        fun.()
      rescue
        _ -> nil
      catch
        _, _ -> nil
      end

    cond do
      value not in [nil, false] ->
        value

      System.monotonic_time(:millisecond) > deadline ->
        flunk("timed out after #{ms} ms waiting for: #{what}")

      true ->
        Process.sleep(100)
        poll(what, ms, deadline, fun)
    end
  end

  def seconds_since(t0),
    do: Float.round((System.monotonic_time(:millisecond) - t0) / 1000, 1)

  ## The cluster

  @doc """
  Connects this runner to every node (waiting for containers that are still starting)
  and loads the helper module onto the BEAM peers. Every scenario's setup calls it, so
  a scenario starts from a full, healthy cluster whatever the previous one did.
  """
  def cluster_up(ms \\ 60_000) do
    for n <- [rust() | beam_peers()] do
      wait_until("Node.connect(#{n})", ms, fn -> Node.connect(n) == true end)
    end

    settle(ms)
    for n <- beam_peers(), do: load_helper(n)
    :ok
  end

  @doc """
  Waits until the four nodes form a full mesh again and `global` is in sync on each.
  Every node runs `global` (beamnode too, by default), so OTP 25+'s
  prevent_overlapping_partitions answers a lost connection (a scenario's
  `erlang:disconnect_node`, a killed or cut-off container) by making the other nodes
  drop both of its ends for a moment (docs/global.md, "Overlapping partitions"); a
  scenario that starts before that has settled can lose a connection midway.
  """
  def settle(ms \\ 30_000) do
    all = [node(), rust() | beam_peers()]
    deadline = System.monotonic_time(:millisecond) + ms
    settle_poll(all, ms, deadline)
  end

  # Polls every 100 ms; on timeout the failure names what was still missing (which node
  # did not connect, which node's nodes/0 lacked whom, whose global:sync/0 failed), so a
  # CI log says why the cluster did not settle.
  defp settle_poll(all, ms, deadline) do
    case mesh_gaps(all) do
      [] ->
        :ok

      gaps ->
        if System.monotonic_time(:millisecond) > deadline do
          flunk(
            "timed out after #{ms} ms waiting for a full mesh with global in sync on every node; " <>
              "still missing: " <> Enum.join(gaps, "; ") <> "\n" <> global_states(all)
          )
        else
          Process.sleep(100)
          settle_poll(all, ms, deadline)
        end
    end
  end

  # What keeps the cluster from being a full mesh with global in sync, as text (empty
  # when nothing does).
  defp mesh_gaps(all) do
    peers = all -- [node()]
    unreachable = for n <- peers, Node.connect(n) != true, do: "#{node()} cannot connect to #{n}"

    if unreachable != [] do
      unreachable
    else
      views =
        Enum.flat_map(peers, fn n ->
          case guarded(fn -> on(n, :erlang, :nodes, []) end) do
            {:ok, seen} ->
              case all -- [n | seen] do
                [] -> []
                lack -> ["#{n} does not see #{inspect(lack)}"]
              end

            {:error, why} ->
              ["erlang:nodes() on #{n}: #{why}"]
          end
        end)

      syncs =
        if views != [] do
          []
        else
          for n <- all,
              r = guarded(fn -> if n == node(), do: local_sync(), else: on(n, :global, :sync, []) end),
              r != {:ok, :ok},
              do: "global:sync() on #{n}: #{inspect(r)}"
        end

      views ++ syncs
    end
  end

  # global:sync/0 here, bounded like the erpc calls to the peers.
  defp local_sync do
    task = Task.async(fn -> :global.sync() end)

    case Task.yield(task, 15_000) || Task.shutdown(task, :brutal_kill) do
      {:ok, r} -> r
      nil -> :timeout
      other -> other
    end
  end

  # OTP global's server state on each BEAM node (known and synced nodes, syncers,
  # lockers), for the failure message: beamnode's own is not shown by sys.
  defp global_states(all) do
    for n <- all, n != rust() do
      st =
        guarded(fn ->
          if n == node(),
            do: :sys.get_state(:global_name_server, 5_000),
            else: on(n, :sys, :get_state, [:global_name_server, 5_000])
        end)

      "  global_name_server on #{n}: " <> String.slice(inspect(st, limit: 200), 0, 3_000)
    end
    |> Enum.join("\n")
  end

  defp guarded(fun) do
    {:ok, fun.()}
  rescue
    e -> {:error, Exception.format_banner(:error, e) |> String.slice(0, 200)}
  catch
    k, v -> {:error, "#{k} #{inspect(v) |> String.slice(0, 200)}"}
  end

  @doc "erpc call on a BEAM node (bounded)."
  def on(node, m, f, a), do: :erpc.call(node, m, f, a, 15_000)

  @doc "Loads interop_peer.erl (compiled once, here) onto a BEAM node."
  def load_helper(node) do
    {mod, bin} = helper_code()

    # Loaded once per node incarnation: reloading twice would purge the old code and
    # kill processes still running it (collectors, link watchers).
    case on(node, :code, :is_loaded, [mod]) do
      {:file, _} ->
        :ok

      false ->
        {:module, ^mod} = on(node, :code, :load_binary, [mod, ~c"interop_peer.erl", bin])
        :ok
    end
  end

  defp helper_code do
    case :persistent_term.get({__MODULE__, :helper}, nil) do
      nil ->
        src = Path.join(__DIR__, "interop_peer.erl") |> String.to_charlist()
        {:ok, mod, bin} = :compile.file(src, [:binary, :report])
        :persistent_term.put({__MODULE__, :helper}, {mod, bin})
        {mod, bin}

      code ->
        code
    end
  end

  @doc "Echo round trip started on `node` (a BEAM peer): {:ok, reply} or :timeout."
  def echo_from(node, msg), do: on(node, :interop_peer, :echo, [rust(), msg, 5_000])

  @doc "Echo round trip from this runner."
  def echo_here(msg) do
    send({:echo, rust()}, {self(), msg})

    receive do
      {:echo, ^msg} -> {:ok, msg}
    after
      5_000 -> :timeout
    end
  end

  @doc """
  Rust -> BEAM: a collector process on `node` waits for one message; beamnode's echo
  is asked (from this runner) to send to it. Returns what the collector received.
  """
  def via_rust_to(node, msg, ms \\ 10_000) do
    me = self()

    pid =
      if node == Node.self(),
        do: spawn(fn -> receive(do: (m -> send(me, {:collected, Node.self(), self(), m}))) end),
        else: on(node, :interop_peer, :start_collector, [me, ms])

    send({:echo, rust()}, {pid, msg})

    receive do
      {:collected, ^node, ^pid, got} -> {:ok, got}
      {:collector_timeout, ^node, ^pid} -> :timeout
    after
      ms + 2_000 -> :timeout
    end
  end

  ## Control channel to the host (scripts/docker-suite.sh serves it)

  @doc """
  Asks the host to run a docker action on a service's container: "kill", "start",
  "restart", "disconnect" (from the suite's network), "connect" (back, with its
  aliases), "logs", "stat" (see os_stat/1). Returns {output, exit_status}.
  """
  def docker(action, role) when role in [:erl, :elixir, :beamnode] do
    unless File.exists?(Path.join(@control, "served")) do
      flunk(
        "no host serves #{@control}: fault scenarios need scripts/docker-suite.sh " <>
          "(by hand, run only the core scenarios: BEAMNODE_INTEROP_ONLY=core)"
      )
    end

    id = "#{System.os_time(:millisecond)}-#{System.unique_integer([:positive])}"
    base = Path.join(@control, id)
    File.write!(base <> ".tmp", "#{action} #{role}\n")
    File.rename!(base <> ".tmp", base <> ".req")

    wait_until("host to run `#{action} #{role}`", 60_000, fn ->
      File.exists?(base <> ".rc")
    end)

    rc = File.read!(base <> ".rc") |> String.trim() |> String.to_integer()
    out = File.read!(base <> ".out")
    Enum.each([".rc", ".out"], &File.rm(base <> &1))
    {out, rc}
  end

  def docker!(action, role) do
    {out, rc} = docker(action, role)
    assert rc == 0, "docker #{action} #{role} failed (#{rc}): #{out}"
    out
  end

  @doc """
  A node's OS process seen from its container (`stat` on the control channel:
  /proc/1/fd and /proc/1/status, read by `docker exec`):
  %{comm: "beamnode", fds: 9, rss_kb: 12345, hwm_kb: 23456, threads: 3}.
  """
  def os_stat(role) do
    out = docker!("stat", role)

    kv =
      for line <- String.split(out, "\n", trim: true),
          [k, v | _] = String.split(line, ~r/[:\s]+/, trim: true),
          into: %{},
          do: {k, v}

    num = fn k -> String.to_integer(Map.fetch!(kv, k)) end

    %{
      comm: Map.fetch!(kv, "comm"),
      fds: num.("fds"),
      rss_kb: num.("VmRSS"),
      hwm_kb: num.("VmHWM"),
      threads: num.("Threads")
    }
  end

  @doc "beamnode's log (tracing on stderr), without ANSI colours."
  def rust_log, do: docker!("logs", :beamnode) |> String.replace(~r/\e\[[0-9;]*m/, "")

  @doc "How many times beamnode's log reports a connection to `peer` going down."
  def rust_downs(log \\ rust_log(), peer) do
    p = to_string(peer)

    log
    |> String.split("\n")
    |> Enum.count(fn l ->
      String.contains?(l, p) and
        (String.contains?(l, "connection down") or String.contains?(l, "not responding"))
    end)
  end

  @doc "How many times beamnode's log reports a connection to `peer` coming up."
  def rust_ups(log \\ rust_log(), peer) do
    p = to_string(peer)

    log
    |> String.split("\n")
    |> Enum.count(&(String.contains?(&1, p) and String.contains?(&1, "connection up")))
  end
end

