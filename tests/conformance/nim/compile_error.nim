let n: int = "not a number"
echo n
