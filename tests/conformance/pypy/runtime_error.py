config = {"name": "demo"}
print(config["port"])
