source ./greet.sh
greeting
