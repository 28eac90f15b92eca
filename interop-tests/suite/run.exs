# Entry point of the tests runner (a BEAM node itself: tests@tests, or
# tests@tests.interop.test with long names). Runs every *_test.exs in this folder, in
# file-name order, each file's tests in definition order (seed 0). Fault scenarios
# change the cluster, so the order is fixed, and each scenario's setup restores a
# healthy cluster anyway.
# INTEROP_ONLY=core,faults runs only the tests carrying those tags.
Code.require_file("support/interop.ex", __DIR__)

ExUnit.start(seed: 0, trace: true, timeout: 180_000, max_cases: 1)

case System.get_env("INTEROP_ONLY", "") do
  "" ->
    :ok

  only ->
    tags = only |> String.split(",", trim: true) |> Enum.map(&String.to_atom(String.trim(&1)))
    ExUnit.configure(exclude: [:test], include: tags)
end

IO.puts(
  "interop suite on #{node()} (#{Interop.names_mode()} names, net_ticktime #{Interop.ticktime()}), " <>
    "peers #{inspect([Interop.rust() | Interop.beam_peers()])}"
)

# ExUnit (1.14) runs the module loaded last first: load in reverse name order.
__DIR__
|> Path.join("*_test.exs")
|> Path.wildcard()
|> Enum.sort(:desc)
|> Enum.each(&Code.require_file/1)
