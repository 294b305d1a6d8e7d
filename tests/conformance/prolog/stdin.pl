:- initialization(main, main).

main :-
    read_string(user_input, _, Input),
    write(Input).
