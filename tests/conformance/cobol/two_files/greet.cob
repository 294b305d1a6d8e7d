       IDENTIFICATION DIVISION.
       PROGRAM-ID. greet.
       PROCEDURE DIVISION.
           DISPLAY "Hello from a module"
           GOBACK.
