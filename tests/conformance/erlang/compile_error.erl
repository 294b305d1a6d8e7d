-module(main).
-export([main/0]).

main() ->
    io:format("~s~n", [undefined_function()]).
