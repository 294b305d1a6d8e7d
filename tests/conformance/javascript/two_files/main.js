const { greeting } = require('./greet');

console.log(greeting());
