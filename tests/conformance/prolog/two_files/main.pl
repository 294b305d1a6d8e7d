:- use_module(greet).
:- initialization(main, main).

main :- greet.
