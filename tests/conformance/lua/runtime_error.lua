local config = {}
print(config.server.port)
