-module(main).
-export([main/0]).

main() ->
    X = list_to_integer("not a number"),
    io:format("~p~n", [X]).
