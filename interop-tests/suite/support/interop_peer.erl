%% Helper loaded by the tests runner onto the erl and elixir nodes (code:load_binary over
%% erpc), so that traffic to beamnode starts on those nodes themselves and not only on
%% the runner. Plain Erlang: the erl container has no Elixir.
-module(interop_peer).
-export([echo/3, kv/3, start_collector/2, ping/1]).

%% BEAM -> Rust -> BEAM: ask beamnode's `echo` to send Msg back to this process.
echo(Rust, Msg, Timeout) ->
    {echo, Rust} ! {self(), Msg},
    receive
        {echo, Reply} -> {ok, Reply}
    after Timeout -> timeout
    end.

%% gen_server:call to beamnode's `kv`; exits come back as values.
kv(Rust, Request, Timeout) ->
    try gen_server:call({kv, Rust}, Request, Timeout)
    catch exit:Reason -> {exit, Reason}
    end.

%% A process on this node that waits for one message (e.g. one that beamnode's `echo`
%% sends: Rust -> BEAM) and reports it to ReplyTo as {collected, Node, Pid, Msg}.
start_collector(ReplyTo, Timeout) ->
    spawn(fun() ->
                  receive
                      Msg -> ReplyTo ! {collected, node(), self(), Msg}
                  after Timeout -> ReplyTo ! {collector_timeout, node(), self()}
                  end
          end).

ping(Node) -> net_adm:ping(Node).
