set -e
cat /no/such/file
echo not reached
