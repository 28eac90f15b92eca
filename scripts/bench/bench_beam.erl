%% The BEAM side of the side-by-side benchmark suite (examples/bench_dist.rs).
%%
%% Compiled at run time with erlc into a temp dir and loaded (-pa) into every erl node
%% the suite starts:
%%   - the driver node runs driver_main/0: it receives {run, From, Workload, Args} from
%%     the Rust harness, times the workload against the target node named in Args and
%%     answers {result, Value};
%%   - the BEAM target node runs target_main/0: the same target logic that
%%     examples/bench/target.rs implements in Rust for the beamnode target;
%%   - fresh nodes run spawn_main/2 (idle-process memory) and etf_main/2 (codec loops);
%%   - the cluster group starts N member nodes running member_main/5 and, per round, a
%%     fresh subject node running cluster_subject/3 (examples/bench/cluster.rs is the
%%     beamnode subject).
-module(bench_beam).
-behaviour(gen_server).

-export([driver_main/0, target_main/0, spawn_main/2, etf_main/3, make_corpus/3]).
-export([member_main/5, member_view/0, cluster_subject/3]).
-export([sink/0, sender/6, echo/0, add/2]).
-export([init/1, handle_call/3, handle_cast/2]).

%% A stream, call loop or ping that sees nothing for this long has lost something (the
%% suite reports it as an error instead of hanging).
-define(LOST, 120000).

%% ------------------------------------------------------------------------------
%% Target logic (mirrored in Rust by examples/bench/target.rs)

%% A sink counts {seq, I, Bin} messages. A stream starts with {hello, From, Total,
%% AckEvery}; the sink sends {ack, Count} to From every AckEvery messages (0: never)
%% and when Count reaches Total. Reusable: the next hello starts a new stream.
sink() ->
    receive
        {hello, From, Total, AckEvery} -> sink(From, Total, AckEvery, 0)
    end.

sink(From, Total, _AckEvery, Total) ->
    From ! {ack, Total},
    sink();
sink(From, Total, AckEvery, C) ->
    receive
        {seq, _, _} ->
            C1 = C + 1,
            case AckEvery > 0 andalso C1 rem AckEvery =:= 0 andalso C1 =/= Total of
                true -> From ! {ack, C1};
                false -> ok
            end,
            sink(From, Total, AckEvery, C1)
    end.

%% Sends N {seq, I, Bin} (Bin: Size bytes) to Dest, never more than Window messages
%% ahead of the last ack; returns once the sink acknowledged all N.
sender(Dest, N, Size, AckEvery, Window, ReplyTo) ->
    Bin = binary:copy(<<7>>, Size),
    Dest ! {hello, self(), N, AckEvery},
    send_loop(Dest, 1, N, Bin, 0, Window),
    ReplyTo ! {sent, self()}.

send_loop(_Dest, I, N, _Bin, Acked, _Window) when I > N ->
    wait_acks(Acked, N);
send_loop(Dest, I, N, Bin, Acked, Window) when I - Acked > Window ->
    receive {ack, A} -> send_loop(Dest, I, N, Bin, A, Window)
    after ?LOST -> exit({no_ack_within_ms, ?LOST, {sent, I - 1}, {acked, Acked}})
    end;
send_loop(Dest, I, N, Bin, Acked, Window) ->
    Dest ! {seq, I, Bin},
    send_loop(Dest, I + 1, N, Bin, Acked, Window).

wait_acks(Acked, N) when Acked >= N -> ok;
wait_acks(Acked, N) ->
    receive {ack, A} -> wait_acks(A, N)
    after ?LOST -> exit({no_ack_within_ms, ?LOST, {sent, N}, {acked, Acked}})
    end.

%% {ping, From, I} -> From ! {pong, I}.
echo() ->
    receive
        {ping, From, I} -> From ! {pong, I}, echo();
        _ -> echo()
    end.

%% The rpc target on BEAM (beamnode serves rust_math:add/2).
add(A, B) -> A + B.

%% kv: the same store as beamnode's services::kv (only what the suite uses).
init([]) -> {ok, #{k => 1}}.
handle_call({get, K}, _From, S) ->
    case S of
        #{K := V} -> {reply, {ok, V}, S};
        _ -> {reply, error, S}
    end;
handle_call({put, K, V}, _From, S) -> {reply, ok, S#{K => V}}.
handle_cast(_, S) -> {noreply, S}.

%% The target's controller, registered as bench_tgt.
target_main() ->
    register(bench_tgt, self()),
    register(becho, spawn(fun echo/0)),
    {ok, _} = gen_server:start({local, kv}, ?MODULE, [], []),
    io:format("READY~n"),
    target_loop().

target_loop() ->
    receive
        {sinks, K, ReplyTo} ->
            ensure_sinks(K),
            ReplyTo ! sinks_ready;
        {send, K, PerSender, Size, AckEvery, Window, DriverNode, ReplyTo} ->
            [spawn(?MODULE, sender,
                   [{sink_name(I), DriverNode}, PerSender, Size, AckEvery, Window, ReplyTo])
             || I <- lists:seq(1, K)];
        {call_loop, K, PerCaller, DriverNode, ReplyTo} ->
            [spawn(fun() -> call_loop(PerCaller, {kv, DriverNode}), ReplyTo ! {called, self()} end)
             || _ <- lists:seq(1, K)];
        _ ->
            ok
    end,
    target_loop().

call_loop(0, _) -> ok;
call_loop(N, Dest) -> {ok, 1} = gen_server:call(Dest, {get, k}), call_loop(N - 1, Dest).

sink_name(I) -> list_to_atom("bsink_" ++ integer_to_list(I)).

ensure_sinks(K) ->
    [case whereis(sink_name(I)) of
         undefined -> register(sink_name(I), spawn(fun sink/0));
         _ -> ok
     end || I <- lists:seq(1, K)].

%% ------------------------------------------------------------------------------
%% Driver

driver_main() ->
    register(bench_drv, self()),
    {ok, _} = gen_server:start({local, kv}, ?MODULE, [], []),
    io:format("READY ~s~n", [erlang:system_info(system_version)]),
    driver_loop().

driver_loop() ->
    receive
        {run, From, Workload, Args} ->
            Result = try
                         run(Workload, Args)
                     catch
                         C:R:St -> {error, iolist_to_binary(io_lib:format("~p:~p ~p", [C, R, St]))}
                     end,
            From ! {result, Result};
        _ ->
            ok
    end,
    driver_loop().

us_since(T0) -> erlang:monotonic_time(microsecond) - T0.

collect(0, _) -> ok;
collect(K, Tag) ->
    receive {Tag, _} -> collect(K - 1, Tag)
    after ?LOST -> error({missing, K, Tag, within_ms, ?LOST})
    end.

%% Stream of N messages split over K senders, driver -> target.
run(to_target, [Target, K, N, Size, AckEvery, Window]) ->
    {bench_tgt, Target} ! {sinks, K, self()},
    receive sinks_ready -> ok after ?LOST -> error(no_sinks_ready) end,
    T0 = erlang:monotonic_time(microsecond),
    [spawn(?MODULE, sender,
           [{sink_name(I), Target}, N div K, Size, AckEvery, Window, self()])
     || I <- lists:seq(1, K)],
    collect(K, sent),
    us_since(T0);
%% The same stream, target's senders -> driver's sinks.
run(from_target, [Target, K, N, Size, AckEvery, Window]) ->
    ensure_sinks(K),
    T0 = erlang:monotonic_time(microsecond),
    {bench_tgt, Target} ! {send, K, N div K, Size, AckEvery, Window, node(), self()},
    collect(K, sent),
    us_since(T0);
%% Ping-pong with the target's echo: sorted round trips in ns (after Warm discarded).
run(pingpong, [Target, Warm, N]) ->
    Dest = {becho, Target},
    [begin Dest ! {ping, self(), I}, receive {pong, I} -> ok after ?LOST -> error({no_pong, I}) end end
     || I <- lists:seq(1, Warm)],
    Ts = [begin
              T0 = erlang:monotonic_time(nanosecond),
              Dest ! {ping, self(), I},
              receive {pong, I} -> ok after ?LOST -> error({no_pong, I}) end,
              erlang:monotonic_time(nanosecond) - T0
          end || I <- lists:seq(1, N)],
    lists:sort(Ts);
%% K concurrent callers, N calls in all; Kind: rpc | erpc | genserver.
run(calls, [Target, Kind, K, N, {M, F}]) ->
    Call = case Kind of
               rpc -> fun() -> 3 = rpc:call(Target, M, F, [1, 2]) end;
               erpc -> fun() -> 3 = erpc:call(Target, M, F, [1, 2]) end;
               genserver -> fun() -> {ok, 1} = gen_server:call({kv, Target}, {get, k}) end
           end,
    Call(),
    Per = N div K,
    Self = self(),
    T0 = erlang:monotonic_time(microsecond),
    [spawn(fun() -> repeat(Per, Call), Self ! {called, self()} end) || _ <- lists:seq(1, K)],
    collect(K, called),
    us_since(T0);
%% The target's K callers call the driver's kv (gen_server) N times in all.
run(reverse_calls, [Target, K, N]) ->
    T0 = erlang:monotonic_time(microsecond),
    {bench_tgt, Target} ! {call_loop, K, N div K, node(), self()},
    collect(K, called),
    us_since(T0);
run(corpus, [Path, Count, Kind]) ->
    make_corpus(Path, Count, Kind);
run(etf, [Path, Reps, What]) ->
    etf_main(Path, Reps, What).

repeat(0, _) -> ok;
repeat(N, F) -> F(), repeat(N - 1, F).

%% ------------------------------------------------------------------------------
%% ETF corpus: Count terms, each written as <<Len:32, (term_to_binary(T))/binary>>.
%% Kind: mixed (one term in 8 a binary of 16 B..64 KiB) or structured (no such binaries).
make_corpus(Path, Count, Kind) ->
    rand:seed(exsss, {1, 2, 3}),
    Is = case Kind of
             mixed -> lists:seq(1, Count);
             structured -> [I || I <- lists:seq(1, Count * 8 div 7 + 8), I rem 8 =/= 3]
         end,
    Terms = [corpus_term(I) || I <- lists:sublist(Is, Count)],
    Bin = << <<(byte_size(B)):32, B/binary>> || T <- Terms, B <- [term_to_binary(T)] >>,
    ok = file:write_file(Path, Bin),
    byte_size(Bin).

corpus_term(I) ->
    case I rem 8 of
        0 -> #{id => I, name => <<"user_", (integer_to_binary(I))/binary>>,
               active => I rem 3 =:= 0, score => I * 1.5, owner => self(),
               session => make_ref(), tags => [alpha, beta, gamma],
               address => #{street => <<"Main Street">>, no => I rem 200, zip => "75001"}};
        1 -> #{<<"event">> => <<"click">>, <<"ts">> => 1700000000000 + I,
               <<"payload">> => #{<<"x">> => I, <<"y">> => -I, <<"path">> => <<"/a/b/c">>},
               <<"ids">> => lists:seq(I, I + 20)};
        2 -> {order, I, {customer, <<"c", (integer_to_binary(I))/binary>>, self()},
              [{item, N, N * 2.25, <<"sku-", (integer_to_binary(N))/binary>>} || N <- lists:seq(1, 5)],
              {status, shipped, {{2026, 12, 6}, {5, 0, I rem 60}}}};
        3 -> rand_bin(16 + trunc(math:pow(4096, rand:uniform()) * 16) - 16);
        4 -> lists:seq(1, 50 + I rem 200);
        5 -> "The quick brown fox jumps over the lazy dog " ++ integer_to_list(I);
        6 -> [rand:uniform() * 1000 || _ <- lists:seq(1, 32)];
        7 -> {reply, make_ref(), {ok, [{key, I}, {value, <<"v", (integer_to_binary(I))/binary>>},
                                        {pid, self()}, {nested, {a, {b, {c, [1, 2, 3]}}}}]}}
    end.

rand_bin(N) -> binary:copy(<<"0123456789abcdef">>, (N + 15) div 16).

read_corpus(Path) ->
    {ok, Bin} = file:read_file(Path),
    split(Bin, []).

split(<<>>, Acc) -> lists:reverse(Acc);
split(<<L:32, B:L/binary, Rest/binary>>, Acc) -> split(Rest, [B | Acc]).

%% In a fresh process: Reps passes of binary_to_term over the corpus (decode) or of
%% term_to_binary over its decoded terms (encode); prints "ETF <decode|encode> Us".
etf_main(Path, Reps, What) ->
    Self = self(),
    spawn(fun() ->
                  Bins = read_corpus(Path),
                  Us = case What of
                           decode ->
                               T0 = erlang:monotonic_time(microsecond),
                               repeat(Reps, fun() -> lists:foreach(fun erlang:binary_to_term/1, Bins) end),
                               us_since(T0);
                           encode ->
                               Terms = [binary_to_term(B) || B <- Bins],
                               T0 = erlang:monotonic_time(microsecond),
                               repeat(Reps, fun() -> lists:foreach(fun erlang:term_to_binary/1, Terms) end),
                               us_since(T0)
                       end,
                  Self ! {done, Us}
          end),
    receive {done, Us} -> Us end.

%% ------------------------------------------------------------------------------
%% Idle processes in a fresh node: Rounds rounds of spawning N processes that wait
%% for stop; prints "SPAWN Round Us RssGrowthBytes" per round.
spawn_main(N, Rounds) ->
    [begin
         garbage_collect(),
         Rss0 = rss(),
         T0 = erlang:monotonic_time(microsecond),
         Pids = spawn_n(N, []),
         Us = us_since(T0),
         timer:sleep(200),
         Rss1 = rss(),
         io:format("SPAWN ~p ~p ~p~n", [R, Us, Rss1 - Rss0]),
         [P ! stop || P <- Pids],
         wait_gone(N)
     end || R <- lists:seq(1, Rounds)],
    halt().

spawn_n(0, Acc) -> Acc;
spawn_n(N, Acc) -> spawn_n(N - 1, [spawn(fun() -> receive stop -> ok end end) | Acc]).

wait_gone(N) ->
    case erlang:system_info(process_count) > 200 of
        true -> timer:sleep(50), wait_gone(N);
        false -> ok
    end.

rss() ->
    {ok, S} = file:read_file("/proc/self/status"),
    [_, Rest] = binary:split(S, <<"VmRSS:">>),
    [Kb | _] = string:lexemes(Rest, " \t\n"),
    binary_to_integer(Kb) * 1024.

%% ------------------------------------------------------------------------------
%% Cluster scale. Members are started one after the other; member I connects to every
%% member before it, waits for global:sync(), registers NamesPer global names
%% {bench_name, I, J} and joins PgPer idle processes to the groups {bench_group, 0..
%% Groups-1} of the scope bench_pg (process J joins group J rem Groups), then prints
%% READY. The last member also waits until every member sees the whole state (all
%% names, all pg members) and prints CLUSTER_READY.
member_main(I, Members, NamesPer, PgPer, Groups) ->
    Before = lists:sublist(Members, I - 1),
    [true = net_kernel:connect_node(M) || M <- Before],
    ok = global:sync(),
    [yes = global:register_name({bench_name, I, J}, spawn(fun idle/0))
     || J <- lists:seq(1, NamesPer)],
    {ok, _} = pg:start(bench_pg),
    Pids = [spawn(fun idle/0) || _ <- lists:seq(1, PgPer)],
    ByGroup = lists:foldl(fun({J, P}, Acc) ->
                                  maps:update_with(J rem Groups, fun(L) -> [P | L] end, [P], Acc)
                          end, #{}, lists:zip(lists:seq(1, PgPer), Pids)),
    maps:foreach(fun(G, Ps) -> ok = pg:join(bench_pg, {bench_group, G}, Ps) end, ByGroup),
    io:format("READY~n"),
    case I =:= length(Members) of
        true ->
            {Names, Pg} = member_view(),
            wait_members(Members, {Names, Pg}, 1200),
            io:format("CLUSTER_READY ~p ~p~n", [Names, Pg]);
        false ->
            ok
    end,
    %% Stays up until the harness kills it; gives up by itself after an hour.
    receive after 3600000 -> halt() end.

idle() -> receive stop -> ok end.

%% {global names, pg members of bench_pg} as this node sees them.
member_view() ->
    Groups = try pg:which_groups(bench_pg) catch _:_ -> [] end,
    {length(global:registered_names()),
     lists:sum([length(pg:get_members(bench_pg, G)) || G <- Groups])}.

wait_members(Members, Want, 0) ->
    error({cluster_not_converged, Want, rpc:multicall(Members, ?MODULE, member_view, [])});
wait_members(Members, Want, Tries) ->
    case rpc:multicall(Members, ?MODULE, member_view, []) of
        {Views, []} ->
            case lists:all(fun(V) -> V =:= Want end, Views) of
                true -> ok;
                false -> timer:sleep(100), wait_members(Members, Want, Tries - 1)
            end;
        _ ->
            timer:sleep(100), wait_members(Members, Want, Tries - 1)
    end.

%% A fresh node joining the cluster (the BEAM subject; examples/bench/cluster.rs is
%% the beamnode one). Connects to every member in turn and calls global:sync(): the
%% time of both is SyncUs. RssGrowth is VmRSS 300 ms after the sync minus VmRSS
%% before the first connect. Then it starts the scope bench_pg and polls (every
%% millisecond) until it sees ExpectPg members: PgUs. Prints
%% "CLUSTER SyncUs RssGrowth PgUs" and halts.
cluster_subject(Members, ExpectNames, ExpectPg) ->
    garbage_collect(),
    timer:sleep(200),
    Rss0 = rss(),
    T0 = erlang:monotonic_time(microsecond),
    [true = net_kernel:connect_node(M) || M <- Members],
    ok = global:sync(),
    SyncUs = us_since(T0),
    case length(global:registered_names()) of
        ExpectNames -> ok;
        Got -> io:format("CLUSTER_ERROR names ~p of ~p~n", [Got, ExpectNames]), halt(1)
    end,
    timer:sleep(300),
    Rss1 = rss(),
    T1 = erlang:monotonic_time(microsecond),
    {ok, _} = pg:start(bench_pg),
    ok = wait_pg(ExpectPg, erlang:monotonic_time(millisecond) + ?LOST),
    PgUs = us_since(T1),
    io:format("CLUSTER ~p ~p ~p~n", [SyncUs, Rss1 - Rss0, PgUs]),
    halt().

wait_pg(Expect, Deadline) ->
    case pg_count() of
        Expect -> ok;
        Got ->
            case erlang:monotonic_time(millisecond) > Deadline of
                true -> io:format("CLUSTER_ERROR pg ~p of ~p~n", [Got, Expect]), halt(1);
                false -> timer:sleep(1), wait_pg(Expect, Deadline)
            end
    end.

pg_count() ->
    lists:sum([length(pg:get_members(bench_pg, G)) || G <- pg:which_groups(bench_pg)]).
