set -e
ls /no/such/file
echo not reached
