       IDENTIFICATION DIVISION.
       PROGRAM-ID. ECHO.
       ENVIRONMENT DIVISION.
       INPUT-OUTPUT SECTION.
       FILE-CONTROL.
           SELECT IN-FILE ASSIGN TO KEYBOARD
               ORGANIZATION IS LINE SEQUENTIAL.
       DATA DIVISION.
       FILE SECTION.
       FD  IN-FILE.
       01  IN-LINE         PIC X(4096).
       WORKING-STORAGE SECTION.
       01  WS-EOF          PIC X VALUE "N".
       PROCEDURE DIVISION.
           OPEN INPUT IN-FILE
           PERFORM UNTIL WS-EOF = "Y"
               READ IN-FILE
                   AT END MOVE "Y" TO WS-EOF
                   NOT AT END
                       DISPLAY FUNCTION TRIM(IN-LINE TRAILING)
               END-READ
           END-PERFORM
           CLOSE IN-FILE
           STOP RUN.
