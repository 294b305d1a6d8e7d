/* greeting is an external function: greeting.rexx, sent along. Its name
   is quoted so that Regina looks for the file in lower case. */
say 'greeting'()
