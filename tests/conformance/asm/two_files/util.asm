section .data
msg:    db "Hello from a module", 10
len:    equ $ - msg

section .text
global greet
greet:
    mov rax, 1          ; write(1, msg, len)
    mov rdi, 1
    mov rsi, msg
    mov rdx, len
    syscall
    ret
