config = JSON.parse '{ not json'
console.log config
