import greet

greet()
