%% Helper loaded by the tests runner onto the erl and elixir nodes (code:load_binary over
%% erpc), so that traffic to beamnode starts on those nodes themselves and not only on
%% the runner. Plain Erlang: the erl container has no Elixir.
-module(interop_peer).
-behaviour(gen_server).
-export([echo/3, kv/3, start_collector/2, ping/1]).
-export([spawn_link_exit/5, spawn_monitor_down/5, monitor_down/2, spawn_echo/3,
         capture_spawn/5, link_watch/3, start_kv/0]).
-export([global_owner/1, pg_member/1, register_when_alone/3]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

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

%% erlang:spawn_link/4 of an MFA on Rust from a trapping process: {exit, Pid, Reason}.
spawn_link_exit(Rust, M, F, A, Timeout) ->
    process_flag(trap_exit, true),
    Pid = spawn_link(Rust, M, F, A),
    receive
        {'EXIT', Pid, Reason} -> {exit, Pid, Reason}
    after Timeout -> timeout
    end.

%% erlang:spawn_monitor/4 of an MFA on Rust: {down, Pid, Reason}.
spawn_monitor_down(Rust, M, F, A, Timeout) ->
    {Pid, Ref} = spawn_monitor(Rust, M, F, A),
    receive
        {'DOWN', Ref, process, Pid, Reason} -> {down, Pid, Reason}
    after Timeout -> timeout
    end.

%% erlang:monitor/2 of a pid or {Name, Node}: {down, Item, Reason}.
monitor_down(Item, Timeout) ->
    Ref = monitor(process, Item),
    receive
        {'DOWN', Ref, process, Obj, Reason} -> {down, Obj, Reason}
    after Timeout -> timeout
    end.

%% spawn/4 of beamnode_demo:echo_loop/0 on Rust, one round trip, then stop.
spawn_echo(Rust, Msg, Timeout) ->
    Pid = spawn(Rust, beamnode_demo, echo_loop, []),
    Pid ! {self(), Msg},
    R = receive
            {echo, Msg} -> {ok, Pid, Msg}
        after Timeout -> timeout
        end,
    Pid ! stop,
    R.

%% spawn_monitor/4 on Rust with a capturing group leader: {ExitReason, OutputBinary}.
%% The spawned process inherits this process's group leader (SPAWN_REQUEST carries
%% it), so its io requests come here across the network.
capture_spawn(Rust, M, F, A, Timeout) ->
    GL = spawn(fun() -> gl_loop([]) end),
    group_leader(GL, self()),
    {Pid, Ref} = spawn_monitor(Rust, M, F, A),
    R = receive
            {'DOWN', Ref, process, Pid, Reason} -> Reason
        after Timeout -> timeout
        end,
    GL ! {get, self()},
    Out = receive {output, O} -> O after Timeout -> timeout end,
    exit(GL, kill),
    {R, Out}.

gl_loop(Acc) ->
    receive
        {io_request, From, ReplyAs, {put_chars, _Enc, Chars}} ->
            From ! {io_reply, ReplyAs, ok},
            gl_loop([Acc, Chars]);
        {io_request, From, ReplyAs, {put_chars, _Enc, M, F, A}} ->
            From ! {io_reply, ReplyAs, ok},
            gl_loop([Acc, apply(M, F, A)]);
        {io_request, From, ReplyAs, _} ->
            From ! {io_reply, ReplyAs, {error, enotsup}},
            gl_loop(Acc);
        {get, To} ->
            To ! {output, unicode:characters_to_binary(Acc)},
            gl_loop(Acc)
    end.

%% A trapping process on this node that links to Pid and reports
%% {linked, node(), Self} then {link_exit, node(), Pid, Reason} to ReplyTo.
link_watch(Pid, ReplyTo, Timeout) ->
    spawn(fun() ->
                  process_flag(trap_exit, true),
                  link(Pid),
                  ReplyTo ! {linked, node(), self()},
                  receive
                      {'EXIT', Pid, Reason} -> ReplyTo ! {link_exit, node(), Pid, Reason}
                  after Timeout -> ReplyTo ! {link_timeout, node(), Pid}
                  end
          end).

%% A `kv` gen_server on this BEAM node speaking beamnode's kv protocol ({put, K, V} ->
%% ok, {get, K} -> {ok, V} | error, anything else -> {error, badarg}; cast {put, K, V}),
%% so GenServer.multi_call / abcast can span erl, elixir and beamnode.
start_kv() ->
    case gen_server:start({local, kv}, ?MODULE, #{}, []) of
        {ok, _} -> ok;
        {error, {already_started, _}} -> ok
    end.

init(M) -> {ok, M}.

handle_call({put, K, V}, _From, M) -> {reply, ok, M#{K => V}};
handle_call({get, K}, _From, M) ->
    case M of
        #{K := V} -> {reply, {ok, V}, M};
        _ -> {reply, error, M}
    end;
handle_call(_, _From, M) -> {reply, {error, badarg}, M}.

handle_cast({put, K, V}, M) -> {noreply, M#{K => V}};
handle_cast(_, M) -> {noreply, M}.

handle_info(_, M) -> {noreply, M}.

%% global and pg (60_global_pg_test.exs) ------------------------------------------

%% A process of this node registered globally as Name (it waits for `stop`):
%% {yes | no, Pid}.
global_owner(Name) ->
    Self = self(),
    Pid = spawn(fun() ->
                        R = global:register_name(Name, self()),
                        Self ! {registered, self(), R},
                        receive stop -> ok end
                end),
    receive {registered, Pid, R} -> {R, Pid}
    after 15000 -> {timeout, Pid}
    end.

%% A process of this node in Group of the default pg scope (started here when it does
%% not run yet); it waits for `stop`. Returns its pid.
pg_member(Group) ->
    case whereis(pg) of
        undefined -> {ok, _} = pg:start(pg);
        _ -> ok
    end,
    Self = self(),
    Pid = spawn(fun() -> ok = pg:join(Group, self()), Self ! {joined, self()},
                         receive stop -> ok end end),
    receive {joined, Pid} -> Pid after 15000 -> timeout end.

%% For a partition: a process that waits (at most Ms) until this node is connected to
%% nobody, registers Name globally, then waits until it is connected again and tells
%% To {alone, node(), Name, self(), Result}; then it waits to be killed.
register_when_alone(Name, To, Ms) ->
    spawn(fun() ->
                  ok = wait_for(fun() -> nodes() == [] end, Ms),
                  R = global:register_name(Name, self()),
                  ok = wait_for(fun() -> lists:member(node(To), nodes()) end, Ms),
                  To ! {alone, node(), Name, self(), R},
                  receive stop -> ok end
          end).

wait_for(Cond, Ms) when Ms =< 0 ->
    case Cond() of true -> ok; false -> timeout end;
wait_for(Cond, Ms) ->
    case Cond() of
        true -> ok;
        false -> receive after 50 -> wait_for(Cond, Ms - 50) end
    end.
