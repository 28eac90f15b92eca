%% Helper loaded by the tests runner onto the erl and elixir nodes (code:load_binary over
%% erpc), so that traffic to beamnode starts on those nodes themselves and not only on
%% the runner. Plain Erlang: the erl container has no Elixir.
-module(interop_peer).
-behaviour(gen_server).
-export([echo/3, kv/3, start_collector/2, ping/1]).
-export([spawn_link_exit/5, spawn_monitor_down/5, monitor_down/2, spawn_echo/3,
         capture_spawn/5, link_watch/3, start_kv/0]).
-export([soak_sender/5, soak_receiver/2]).
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

%% Soak (50_soak_test.exs). A sender sends {To, {soak, Id, Seq, SentAt, Payload}} to
%% Via (a
%% Rust echo process: `{echo, Rust}` or a `beamnode_demo:echo_loop` pid), Rate
%% messages a second, Seq counting from 1; Rust sends {echo, {soak, ...}} on to To.
%% It wakes every TickMs and sends what the rate asks for since its start (at most
%% 2 s worth at once: timers are late on a busy machine). {stop, ReplyTo} ends it
%% with {soak_sent, Id, LastSeq}. Payload: a binary of the byte Seq rem 256, 200 kB
%% every 100th message (fragmented on the wire), else 16..79 bytes; the receiver
%% checks it.
soak_sender(Via, To, Id, Rate, TickMs) ->
    spawn(fun() ->
                  T0 = erlang:monotonic_time(millisecond),
                  soak_send_loop(Via, To, Id, Rate, TickMs, T0, 0)
          end).

soak_send_loop(Via, To, Id, Rate, TickMs, T0, Seq) ->
    receive
        {stop, ReplyTo} -> ReplyTo ! {soak_sent, Id, Seq}
    after TickMs ->
            Due = Rate * (erlang:monotonic_time(millisecond) - T0) div 1000,
            N = min(max(Due - Seq, 0), 2 * Rate),
            soak_send_loop(Via, To, Id, Rate, TickMs, T0, soak_batch(Via, To, Id, Seq, N))
    end.

soak_batch(_Via, _To, _Id, Seq, 0) -> Seq;
soak_batch(Via, To, Id, Seq, N) ->
    S = Seq + 1,
    Via ! {To, {soak, Id, S, os:system_time(millisecond), soak_payload(S)}},
    soak_batch(Via, To, Id, S, N - 1).

soak_payload(S) when S rem 100 =:= 0 -> binary:copy(<<(S rem 256)>>, 200000);
soak_payload(S) -> binary:copy(<<(S rem 256)>>, 16 + S rem 64).

%% A receiver for sender Id: checks every {echo, {soak, Id, Seq, SentAt, Payload}}
%% against the last Seq it got. Seq = Last + 1: in order. Seq > Last + 1: a gap (lost
%% messages), recorded as {Last, Seq, LastSentAt, LastAt, Now}: when the message before
%% it was sent and received, and when the one after it was received
%% (os:system_time(millisecond), one clock for every container). Seq =< Last: reordered or
%% duplicated, recorded. A wrong payload: recorded as corrupt. Reports its state as
%% {soak_report, Id, node(), State} to Report every second, at once after a gap,
%% reorder or corruption, and on {report, From} to From; `stop` ends it. Any other
%% message is counted as stray. At most 1000
%% gaps and 1000 reorders are kept (the counts go on).
soak_receiver(Report, Id) ->
    spawn(fun() ->
                  erlang:send_after(1000, self(), soak_tick),
                  soak_recv_loop(Report, Id, #{last => 0, n => 0, last_at => 0,
                                               last_sent_at => 0,
                                               first_at => 0, gaps => [], ngaps => 0,
                                               lost => 0, reorders => [], nreorders => 0,
                                               corrupt => 0, stray => 0})
          end).

soak_recv_loop(Report, Id, St) ->
    receive
        {echo, {soak, Id, Seq, SentAt, Payload}} ->
            Now = os:system_time(millisecond),
            #{last := Last, n := N, last_at := LastAt, last_sent_at := LastSentAt} = St,
            St1 = St#{n := N + 1, last_at := Now, last_sent_at := SentAt,
                      first_at := case N of 0 -> Now; _ -> maps:get(first_at, St) end},
            St2 = case soak_payload(Seq) of
                      Payload -> St1;
                      _ -> St1#{corrupt := maps:get(corrupt, St1) + 1}
                  end,
            if
                Seq =:= Last + 1 ->
                    soak_recv_loop(Report, Id, St2#{last := Seq});
                Seq > Last + 1 ->
                    #{gaps := Gs, ngaps := NG, lost := Lost} = St2,
                    Gap = {Last, Seq, LastSentAt, LastAt, Now},
                    St3 = St2#{last := Seq, ngaps := NG + 1, lost := Lost + Seq - Last - 1,
                               gaps := soak_keep(Gap, Gs, NG)},
                    Report ! {soak_report, Id, node(), St3},
                    soak_recv_loop(Report, Id, St3);
                true ->
                    #{reorders := Rs, nreorders := NR} = St2,
                    St3 = St2#{nreorders := NR + 1,
                               reorders := soak_keep({Last, Seq, Now}, Rs, NR)},
                    Report ! {soak_report, Id, node(), St3},
                    soak_recv_loop(Report, Id, St3)
            end;
        soak_tick ->
            Report ! {soak_report, Id, node(), St},
            erlang:send_after(1000, self(), soak_tick),
            soak_recv_loop(Report, Id, St);
        {report, From} ->
            From ! {soak_report, Id, node(), St},
            soak_recv_loop(Report, Id, St);
        stop ->
            ok;
        _Other ->
            soak_recv_loop(Report, Id, St#{stray := maps:get(stray, St) + 1})
    end.

soak_keep(X, Xs, N) when N < 1000 -> [X | Xs];
soak_keep(_X, Xs, _N) -> Xs.

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
