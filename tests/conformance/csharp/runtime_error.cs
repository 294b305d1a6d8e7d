using System;

class Program
{
    static void Main(string[] args)
    {
        int[] a = new int[2];
        Console.WriteLine(a[args.Length + 5]);
    }
}
