require greet.fs

greet
