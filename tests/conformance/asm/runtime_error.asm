; Opens a file that does not exist and reports the failure on stderr.
section .data
path:   db "no-such-file.txt", 0
msg:    db "error: cannot open no-such-file.txt", 10
len:    equ $ - msg

section .text
global _start
_start:
    mov rax, 2          ; open(path, O_RDONLY)
    mov rdi, path
    xor rsi, rsi
    syscall
    cmp rax, 0
    jge .ok
    mov rax, 1          ; write(2, msg, len)
    mov rdi, 2
    mov rsi, msg
    mov rdx, len
    syscall
    mov rax, 60         ; exit(1)
    mov rdi, 1
    syscall
.ok:
    mov rax, 60
    xor rdi, rdi
    syscall
