:- module(greet, [greet/0]).

greet :- format("Hello from a module~n").
