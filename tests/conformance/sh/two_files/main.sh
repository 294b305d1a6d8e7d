. ./greet.sh
greeting
